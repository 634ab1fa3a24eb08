import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Layers import only downward. Read from the sources (no build): every relative import of every non-spec file
 * under src/, resolved to a path, checked against the rules below.
 *
 *   gateways, REST controllers, admin      (glasses-ws, app-ws, client-api, admin, web-ui, …)
 *   session assembly                       (session/user-session.ts, session.module.ts, session-registry.ts)
 *   per-user managers                      (apps, audio, display, photo, streaming, …)
 *   session core, persistence, config      (session-core/, persistence, config)
 *   common                                 (src/common)
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Folders whose per-user (request-scoped) managers live below the session assembly. */
export const MANAGER_DIRS = [
  'app-connections',
  'apps',
  'audio',
  'audio-stream',
  'calendar',
  'dashboard',
  'device',
  'display',
  'location',
  'microphone',
  'phone',
  'photo',
  'relay',
  'streaming',
  'subscriptions',
  'transcription',
  'translation',
  'user-settings',
];
/** The files that assemble a session from every manager: above the managers. */
const SESSION_ASSEMBLY = ['session/user-session.ts', 'session/session.module.ts', 'session/session-registry.ts'];
/** Transport and API layers: nothing below them may import them. */
const UPPER_DIRS = ['glasses-ws', 'app-ws', 'client-api', 'admin', 'web-ui', 'gateway', 'health'];

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts'))
      out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Every relative import edge under src/, as paths relative to src/ with `.ts` endings. */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      out.push({ from: relative(SRC, file), to: relative(SRC, target) });
    }
  }
  return out;
}

const topDir = (path: string) => path.split('/')[0]!;
const show = (e: Edge) => `${e.from} -> ${e.to}`;

describe('layers import only downward', () => {
  const all = edges();

  it('finds the imports it checks (the parser still works)', () => {
    expect(all.length).toBeGreaterThan(500);
    expect(all).toContainEqual({ from: 'photo/photo-manager.ts', to: 'session-core/session-context.ts' });
  });

  it('no manager imports the session assembly (user-session, session.module, session-registry)', () => {
    const bad = all.filter((e) => MANAGER_DIRS.includes(topDir(e.from)) && SESSION_ASSEMBLY.includes(e.to));
    expect(bad.map(show)).toEqual([]);
  });

  it('no manager imports a gateway, controller or admin module', () => {
    const bad = all.filter((e) => MANAGER_DIRS.includes(topDir(e.from)) && UPPER_DIRS.includes(topDir(e.to)));
    expect(bad.map(show)).toEqual([]);
  });

  it('the session core (session-core/) imports no manager, nothing of session/ and no transport', () => {
    const bad = all.filter(
      (e) =>
        topDir(e.from) === 'session-core' &&
        (MANAGER_DIRS.includes(topDir(e.to)) || topDir(e.to) === 'session' || UPPER_DIRS.includes(topDir(e.to))),
    );
    expect(bad.map(show)).toEqual([]);
  });

  it('no manager imports anything of session/ (the assembly above them); they import session-core/', () => {
    const bad = all.filter((e) => MANAGER_DIRS.includes(topDir(e.from)) && topDir(e.to) === 'session');
    expect(bad.map(show)).toEqual([]);
  });

  it('protocol/ (wire types, tables, checks) imports only common/, config/ and persistence/', () => {
    const bad = all.filter(
      (e) => topDir(e.from) === 'protocol' && !['protocol', 'common', 'config', 'persistence'].includes(topDir(e.to)),
    );
    expect(bad.map(show)).toEqual([]);
  });

  it('src/common imports nothing outside src/common', () => {
    const bad = all.filter((e) => topDir(e.from) === 'common' && topDir(e.to) !== 'common');
    expect(bad.map(show)).toEqual([]);
  });

  it('the bottom layers (common, config, persistence) import no manager, no session file and no transport', () => {
    const bottom = ['common', 'config', 'persistence'];
    const above = [...MANAGER_DIRS, ...UPPER_DIRS, 'session', 'session-core'];
    const bad = all.filter((e) => bottom.includes(topDir(e.from)) && above.includes(topDir(e.to)));
    expect(bad.map(show)).toEqual([]);
  });
  it('no two top-level folders import each other', () => {
    const pairs = new Set(all.map((e) => `${topDir(e.from)}>${topDir(e.to)}`));
    const cycles = new Set<string>();
    for (const pair of pairs) {
      const [a, b] = pair.split('>') as [string, string];
      if (a !== b && !a.endsWith('.ts') && !b.endsWith('.ts') && pairs.has(`${b}>${a}`))
        cycles.add([a, b].sort().join(' <-> '));
    }
    expect([...cycles].sort()).toEqual([]);
  });
});
