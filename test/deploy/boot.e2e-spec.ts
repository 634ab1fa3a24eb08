import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/cloud.js';
import { ensureBuilt, MAIN, ROOT, spawnService, startFlags } from '../faults/support.js';
import {
  DOCKER_DEFAULT,
  pathState,
  readCompose,
  readDockerfile,
  runtimeStage,
  stageEnv,
  stageUser,
  writtenPaths,
} from './deploy-files.js';

/**
 * The built service (dist/, `npm start`'s command line) run as an unprivileged user, the way the image runs it as
 * `node`: here as `nobody` (the test runs as root, as CI does; run as another user it plays that user itself).
 */
const asRoot = process.getuid!() === 0;
const runner = asRoot ? { uid: 65534, gid: 65534 } : { uid: process.getuid!(), gid: process.getgid!() };

const runtime = runtimeStage(readDockerfile());
/** The image's environment, less what each run sets itself. */
const { DATA_DIR: imageDataDir, PORT: _port, ...imageEnv } = stageEnv(runtime);
const healthcheck = readCompose().services.cloud!.healthcheck?.test as string[] | undefined;

describe('the built service as an unprivileged user', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const d = mkdtempSync(join(tmpdir(), 'mentra-boot-'));
    chmodSync(d, 0o755); // the service user must reach the data directory inside
    dirs.push(d);
    return d;
  };
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Boots once and returns how it ended (for the runs that must not come up). */
  function bootAndExit(dataDir: string) {
    const r = spawnSync(process.execPath, [...startFlags(), MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...imageEnv, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
      uid: runner.uid,
      gid: runner.gid,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
  }

  it('with DATA_DIR prepared as the image prepares it and no secrets set: boots, /health and the compose healthcheck answer, the admin key is printed', async () => {
    // The image's /data: owner and mode as its RUN lines leave them before VOLUME (`node` is played by the runner).
    const dataPath = writtenPaths(runtime, imageDataDir).at(-1)!;
    const state = pathState(runtime, dataPath.path, dataPath.before);
    const dataDir = join(scratch(), 'data');
    mkdirSync(dataDir);
    const owner = state.owner === stageUser(runtime) ? runner : { uid: 0, gid: 0 };
    if (asRoot) chownSync(dataDir, owner.uid, owner.gid);
    chmodSync(dataDir, state.mode);

    const svc = await spawnService({
      dataDir,
      keepDataDir: true,
      ...runner,
      env: { ...imageEnv, ADMIN_API_KEY: '', AUGMENTOS_AUTH_JWT_SECRET: '', LOG_LEVEL: 'log' },
    });
    try {
      const health = await fetch(`${svc.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });

      expect(healthcheck, 'compose gives cloud a healthcheck').toBeDefined();
      const [, tool, ...args] = healthcheck!;
      const check = (port: number) =>
        spawnSync(tool!, args, { env: { PATH: process.env.PATH, PORT: String(port) }, timeout: 10_000 }).status;
      expect(check(svc.port), 'the healthcheck passes against the running service').toBe(0);
      expect(check(await freePort()), 'and fails where nothing answers').toBe(1);

      const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
      expect(svc.output()).toContain(secrets.adminApiKey);
      for (const f of readdirSync(dataDir)) expect(statSync(join(dataDir, f)).uid, f).toBe(runner.uid);
    } finally {
      await svc.close();
    }
  }, 60_000);

  it('against a root-owned DATA_DIR (a volume the image never prepared): exits non-zero saying which directory, which user, what to run', () => {
    const dataDir = join(scratch(), 'data');
    mkdirSync(dataDir);
    // What Docker gives a volume path the image does not prepare; run as a user, a directory that is not its own.
    chmodSync(dataDir, asRoot ? DOCKER_DEFAULT.mode : 0o555);
    const r = bootAndExit(dataDir);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toContain(
      `DATA_DIR ${dataDir} is not writable by this process (uid ${runner.uid}, gid ${runner.gid})`,
    );
    expect(r.stderr).toContain(`owned by uid ${asRoot ? 0 : runner.uid}`);
    expect(r.stderr).toContain(`chown -R ${runner.uid}:${runner.gid} ${dataDir}`);
    expect(r.stderr).toContain(`docker compose run --rm --no-deps --user root cloud chown -R node:node ${dataDir}`);
    expect(r.stderr).not.toContain('Invalid configuration');
    expect(r.stderr).not.toContain('.tmp');
    expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
  }, 60_000);

  it('when DATA_DIR does not exist and its parent is not writable: exits non-zero saying so', () => {
    const parent = join(scratch(), 'parent');
    mkdirSync(parent);
    chmodSync(parent, asRoot ? 0o755 : 0o555);
    const dataDir = join(parent, 'data');
    const r = bootAndExit(dataDir);
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toContain(
      `DATA_DIR ${dataDir} does not exist and this process (uid ${runner.uid}, gid ${runner.gid}) cannot create it`,
    );
    expect(r.stderr).toContain(`${parent} is owned by uid ${asRoot ? 0 : runner.uid}`);
    expect(r.stderr).toContain(`mkdir -p -m 700 ${dataDir} && chown -R ${runner.uid}:${runner.gid} ${dataDir}`);
    expect(r.stderr).not.toContain('Invalid configuration');
  }, 60_000);
});
