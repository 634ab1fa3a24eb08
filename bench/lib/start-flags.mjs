import { readFileSync } from 'node:fs';

/**
 * The node flags of `npm start` (`node <flags> dist/main.js`). The service's tuning lives there; the fault suite,
 * the benchmark and the Dockerfile check read it from this one place.
 */
export function startFlags() {
  const script = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts.start;
  const m = /^node((?:\s+--\S+)*)\s+dist\/main\.js$/.exec(script.trim());
  if (!m) throw new Error(`npm start is not "node <flags> dist/main.js": ${script}`);
  return m[1].trim().split(/\s+/).filter(Boolean);
}
