import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cloud.js';

export interface NginxRtmp {
  rtmpPort: number;
  httpPort: number;
  ingestUrl: string;
  hlsBaseUrl: string;
  dashBaseUrl: string;
  workDir: string;
  errorLog(): Promise<string>;
  close(): Promise<void>;
}

const MODULE_PATHS = ['/usr/lib/nginx/modules/ngx_rtmp_module.so', '/usr/share/nginx/modules/ngx_rtmp_module.so'];

/**
 * Needs Debian's nginx + libnginx-mod-rtmp (installed by .ci/run). Throws, never skips, when missing.
 * `callbackSecret` is the cloud's INGEST_CALLBACK_SECRET, put in the callback URLs.
 */
export async function startNginxRtmp(cloudUrl: string, callbackSecret: string): Promise<NginxRtmp> {
  const module = MODULE_PATHS.find((p) => existsSync(p));
  if (!existsSync('/usr/sbin/nginx') || !module)
    throw new Error('nginx with the RTMP module is not installed (apt-get install nginx libnginx-mod-rtmp)');
  const workDir = await mkdtemp(join(tmpdir(), 'nginx-rtmp-'));
  for (const d of ['hls', 'dash', 'tmp']) await mkdir(join(workDir, d));
  // nginx workers drop to an unprivileged user when started as root: let them write the segments.
  for (const d of ['', 'hls', 'dash', 'tmp']) await chmod(join(workDir, d), 0o777);
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const template = await readFile(new URL('../../deploy/nginx/nginx-rtmp.conf.template', import.meta.url), 'utf8');
  const conf = template
    .replaceAll('{{RTMP_MODULE}}', module)
    .replaceAll('{{WORK_DIR}}', workDir)
    .replaceAll('{{RTMP_PORT}}', String(rtmpPort))
    .replaceAll('{{HTTP_PORT}}', String(httpPort))
    .replaceAll('{{CLOUD_URL}}', cloudUrl)
    .replaceAll('{{CALLBACK_SECRET}}', callbackSecret);
  const confPath = join(workDir, 'nginx.conf');
  await writeFile(confPath, conf);
  const proc: ChildProcess = spawn('/usr/sbin/nginx', ['-c', confPath, '-p', workDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  // Ready when the HTTP port answers.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${httpPort}/hls/`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    rtmpPort,
    httpPort,
    ingestUrl: `rtmp://127.0.0.1:${rtmpPort}/live`,
    hlsBaseUrl: `http://127.0.0.1:${httpPort}/hls`,
    dashBaseUrl: `http://127.0.0.1:${httpPort}/dash`,
    workDir,
    errorLog: () => readFile(join(workDir, 'error.log'), 'utf8').catch(() => ''),
    async close() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** ffmpeg publishing a test pattern (what the glasses would send) to an RTMP URL for `seconds`. */
export function publishTestStream(rtmpUrl: string, seconds: number): ChildProcess & { done: Promise<number> } {
  if (!existsSync('/usr/bin/ffmpeg')) throw new Error('ffmpeg is not installed (apt-get install ffmpeg)');
  const proc = spawn(
    '/usr/bin/ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=320x240:rate=15:duration=${seconds}`,
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:duration=${seconds}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      '15',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      '-f',
      'flv',
      rtmpUrl,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const done = new Promise<number>((resolve) => proc.once('exit', (code) => resolve(code ?? -1)));
  return Object.assign(proc, { done });
}
