// Renders deploy/nginx/cluster.conf.template for scripts/cluster.mjs and the tests.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX = '/usr/sbin/nginx';
export const NJS_MODULE_PATHS = [
  '/usr/lib/nginx/modules/ngx_http_js_module.so',
  '/usr/share/nginx/modules/ngx_http_js_module.so',
  '/etc/nginx/modules/ngx_http_js_module.so',
];
const HERE = dirname(fileURLToPath(import.meta.url));

/** The njs module's path; throws (never skips) when nginx or the module is missing. */
export function findNjsModule() {
  const module = NJS_MODULE_PATHS.find((p) => existsSync(p));
  if (!existsSync(NGINX) || !module)
    throw new Error('nginx with the njs module is not installed (apt-get install nginx libnginx-mod-http-js)');
  return module;
}

/**
 * Writes `<workDir>/nginx.conf` (and the temp directories) for `upstreams` (host:port each) and returns its path.
 * failTimeoutS: how long a failed process is skipped.
 */
export async function writeClusterConf({ workDir, listen, upstreams, failTimeoutS = 5 }) {
  if (!upstreams.length) throw new Error('at least one upstream is needed');
  const template = await readFile(join(HERE, 'cluster.conf.template'), 'utf8');
  const servers = upstreams.map((u) => `server ${u} max_fails=1 fail_timeout=${failTimeoutS}s;`).join('\n    ');
  const conf = template
    .replaceAll('{{NJS_MODULE}}', findNjsModule())
    .replaceAll('{{NJS_DIR}}', HERE)
    .replaceAll('{{WORK_DIR}}', workDir)
    .replaceAll('{{LISTEN}}', String(listen))
    .replaceAll('{{UPSTREAMS}}', servers);
  const left = /\{\{[A-Z_]+\}\}/.exec(conf);
  if (left) throw new Error(`cluster.conf.template: ${left[0]} was not filled`);
  await mkdir(join(workDir, 'tmp'), { recursive: true });
  const path = join(workDir, 'nginx.conf');
  await writeFile(path, conf);
  return path;
}
