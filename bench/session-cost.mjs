// What one user's DI context costs by itself: builds N sessions through SessionRegistry.open (no sockets, no
// apps) in this process and reports heap per session after GC and build time per session.
//   npm run build && node --expose-gc bench/session-cost.mjs [N=2000]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(1);
}
const N = Number(process.argv[2] ?? 2000);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { createApp } = await import(join(dist, 'app.factory.js'));
const { loadConfig } = await import(join(dist, 'config/load-config.js'));
const { SessionRegistry } = await import(join(dist, 'session/session-registry.js'));

const dataDir = mkdtempSync(join(tmpdir(), 'session-cost-'));
const app = await createApp(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    AUGMENTOS_AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
    ADMIN_API_KEY: randomBytes(24).toString('hex'),
    PUBLIC_URL: 'http://127.0.0.1:1',
  }),
);
await app.init();
const registry = app.get(SessionRegistry);
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
};
for (let i = 0; i < 50; i++) await registry.open(`warm${i}@example.com`); // lazy code paths loaded once
const before = await settle();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < N; i++) await registry.open(`user${i}@example.com`);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const after = await settle();
console.log(
  JSON.stringify({
    sessions: N,
    heapPerSessionKB: +((after - before) / N / 1024).toFixed(2),
    buildMsPerSession: +(ms / N).toFixed(3),
    cpuMsPerSession: +((cpu.user + cpu.system) / 1000 / N).toFixed(3),
  }),
);
await app.close();
rmSync(dataDir, { recursive: true, force: true });
