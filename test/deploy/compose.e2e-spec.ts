import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ROOT } from '../faults/support.js';
import {
  aptPackages,
  argList,
  dependsOn,
  interpolate,
  pathState,
  readCompose,
  readDockerfile,
  runtimeStage,
  serviceEnv,
  serviceVolumes,
  stageEnv,
  stageUser,
  writtenPaths,
} from './deploy-files.js';

const tmpDirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'mentra-deploy-'));
  tmpDirs.push(d);
  return d;
};

/** Every environment variable the config reads: recorded from a real loadConfig, not listed by hand. */
function variablesTheConfigReads(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    { DATA_DIR: tmp() },
    {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return target[key as string];
      },
    },
  );
  loadConfig(env);
  return read;
}

/** Host names in the URLs of an environment (`mongodb://mongo:27017/x`, `en-US=ws://vosk:2700`). */
function urlHosts(env: Record<string, string>): Set<string> {
  const hosts = new Set<string>();
  for (const v of Object.values(env))
    for (const m of v.matchAll(/[a-z][a-z0-9+.-]*:\/\/([^/:,\s]+)/gi)) hosts.add(m[1]!);
  return hosts;
}

describe('docker-compose.yml', () => {
  afterAll(() => {
    for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const compose = readCompose();
  const cloud = compose.services.cloud!;
  const runtime = runtimeStage(readDockerfile());
  /** What `docker compose up` with no .env and an empty shell environment gives the cloud container. */
  const cloudEnv = { ...stageEnv(runtime), ...serviceEnv(cloud) };

  it('interpolates like Compose: ${VAR:-default}, ${VAR-default}, ${VAR}, $$', () => {
    expect(interpolate('${A:-x}|${B-y}|${C}|$$', { A: '', B: '' })).toBe('x|||$');
    expect(interpolate('${A:-x}', { A: 'set' })).toBe('set');
  });

  it('defines the cloud service, built from this repository', () => {
    expect(cloud).toBeDefined();
    expect(cloud.build).toBeDefined();
  });

  it('every variable compose and the image set for cloud is one the config reads', () => {
    const known = variablesTheConfigReads();
    expect(known.has('DATA_DIR') && known.has('ADMIN_API_KEY') && known.has('NODE_ENV')).toBe(true);
    const unknown = Object.keys(cloudEnv).filter((k) => !known.has(k));
    expect(unknown, 'variables the config never reads (a typo, or a setting that does nothing)').toEqual([]);
  });

  it('the config loads from what compose gives the cloud with no secrets set (every required variable is there)', () => {
    expect(cloudEnv.AUGMENTOS_AUTH_JWT_SECRET ?? '').toBe('');
    expect(cloudEnv.ADMIN_API_KEY ?? '').toBe('');
    const dataDir = join(tmp(), 'data');
    const cfg = loadConfig({ ...cloudEnv, DATA_DIR: dataDir });
    expect(cfg.adminKeyGenerated).toBe(true);
    expect(cfg.mongoUrl).toBe(cloudEnv.MONGO_URL);
    expect(cfg.port).toBe(Number(cloudEnv.PORT));
    expect(cfg.logFormat).toBe('json');
    expect(cfg.media.transcriptionProviders).toContain('vosk');
    expect(cfg.streaming.managed).toBeDefined();
  });

  it("the cloud's DATA_DIR is a volume compose mounts, owned by the image's runtime user", () => {
    const dataDir = cloudEnv.DATA_DIR;
    expect(dataDir, 'DATA_DIR is set (the default ./data is under the root-owned WORKDIR)').toBeTruthy();
    const mount = serviceVolumes(cloud).find((v) => dataDir === v.target || dataDir!.startsWith(`${v.target}/`));
    expect(mount, `a volume is mounted at ${dataDir}`).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.source);
    const user = stageUser(runtime);
    for (const { what, path, before } of writtenPaths(runtime, dataDir)) {
      expect(pathState(runtime, path, before).owner, `${what} is owned by ${user}`).toBe(user);
    }
  });

  it("the ports line up: compose's PORT, its port mapping, the image's EXPOSE and the ingest's CLOUD_URL", () => {
    const port = cloudEnv.PORT!;
    expect((cloud.ports ?? []).map((p) => interpolate(p).split(':').at(-1))).toContain(port);
    const expose = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => argList(i.args));
    expect(expose).toContain(port);
    expect(serviceEnv(compose.services.ingest!).CLOUD_URL).toBe(`http://cloud:${port}`);
  });

  it('cloud has a healthcheck on /health, run by a tool the image has', () => {
    const test = cloud.healthcheck?.test;
    expect(Array.isArray(test), 'healthcheck.test is an exec-form list').toBe(true);
    const [form, tool, ...args] = test as string[];
    expect(form).toBe('CMD');
    const imageHasIt = (tool === 'node' && /^node:/.test(runtime.image)) || aptPackages(runtime).includes(tool!);
    expect(imageHasIt, `${tool} is in the runtime image`).toBe(true);
    expect(args.join(' ')).toContain('/health');
  });

  it('a service that talks to another waits for it: service_healthy when that one has a healthcheck', () => {
    const names = Object.keys(compose.services);
    const healthchecked = (n: string) =>
      Boolean(compose.services[n]!.healthcheck?.test) && !compose.services[n]!.healthcheck?.disable;
    for (const [name, svc] of Object.entries(compose.services)) {
      const deps = dependsOn(svc);
      for (const host of urlHosts(serviceEnv(svc))) {
        if (!names.includes(host) || host === name) continue;
        expect(deps[host], `${name} talks to ${host} and depends on it`).toBeDefined();
      }
      for (const [dep, condition] of Object.entries(deps)) {
        expect(names, `${name} depends on a service that exists`).toContain(dep);
        expect(condition, `${name} waits for ${dep}`).toBe(healthchecked(dep) ? 'service_healthy' : 'service_started');
      }
    }
    expect(dependsOn(compose.services.ingest!).cloud).toBe('service_healthy');
  });

  it('each service compose builds has its context directory and Dockerfile', () => {
    const built = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
    expect(built.map(([n]) => n)).toEqual(expect.arrayContaining(['cloud', 'ingest']));
    for (const [name, svc] of built) {
      const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build!;
      const context = join(ROOT, build.context ?? '.');
      expect(existsSync(context), `${name}: context ${build.context} exists`).toBe(true);
      expect(existsSync(join(context, build.dockerfile ?? 'Dockerfile')), `${name}: its Dockerfile exists`).toBe(true);
    }
  });
});
