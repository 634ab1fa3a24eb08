import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ENV_KEYS } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { ROOT } from '../faults/support.js';
import {
  dependsOn,
  readCompose,
  runtimeStage,
  readDockerfile,
  serviceEnv,
  serviceVolumes,
  stageEnv,
  type ComposeFile,
  type ComposeService,
} from './deploy-files.js';

/** Compose's `!reset` (drop what the base file set), kept as a marker. */
const RESET = { tag: '!reset', collection: 'seq' as const, default: false, resolve: () => ({ '!reset': true }) };
const isReset = (v: unknown) => typeof v === 'object' && v !== null && '!reset' in v;

/**
 * `docker compose -f docker-compose.yml -f docker-compose.cluster.yml --profile cluster up --scale cloud=3`, read
 * the way Compose merges it (no Docker engine runs here): the services that start, each as the two files make it.
 */
function clusterServices(): Record<string, ComposeService> {
  const base = readCompose();
  const override = parseYaml(readFileSync(join(ROOT, 'docker-compose.cluster.yml'), 'utf8'), {
    customTags: [RESET],
  }) as ComposeFile;
  const out: Record<string, ComposeService> = {};
  for (const [name, svc] of Object.entries(base.services)) {
    const profiles = (svc as { profiles?: string[] }).profiles;
    if (profiles && !profiles.includes('cluster')) continue;
    const extra = (override.services[name] ?? {}) as ComposeService & Record<string, unknown>;
    const merged = { ...svc, ...extra } as ComposeService & Record<string, unknown>;
    merged.environment = { ...serviceEnvRaw(svc), ...serviceEnvRaw(extra) };
    merged.depends_on = { ...(svc.depends_on as object), ...(extra.depends_on as object) } as never;
    if (isReset(extra.ports)) merged.ports = [];
    out[name] = merged;
  }
  return out;
}

function serviceEnvRaw(svc: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

describe('docker-compose cluster profile', () => {
  const base = readCompose();
  const services = clusterServices();
  const cloud = services.cloud!;
  const env = cloud.environment as Record<string, string>;

  it('the cluster profile adds redis and nginx; with the override the cloud, MongoDB and the ingest run beside them', () => {
    for (const name of ['redis', 'nginx'])
      expect((base.services[name] as { profiles?: string[] }).profiles, name).toEqual(['cluster']);
    expect(Object.keys(services).sort()).toEqual(
      expect.arrayContaining(['cloud', 'ingest', 'mongo', 'nginx', 'redis']),
    );
  });

  it('only nginx publishes host ports: the front (and the RTMP ingest, an nginx too); the scaled cloud none', () => {
    const publishing = Object.entries(services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([n]) => n)
      .sort();
    expect(publishing).toEqual(['ingest', 'nginx']);
    expect(cloud.ports).toEqual([]);
    expect(base.services.cloud!.ports?.length).toBeGreaterThan(0); // single-process `docker compose up` keeps its port
  });

  it('cloud gets REDIS_URL, STORE and the shared secrets from the environment, the secrets with no default', () => {
    expect(env.REDIS_URL).toBe('${REDIS_URL:-redis://redis:6379}');
    expect(env.STORE).toBe('${STORE:-mongo}');
    expect(env.MONGO_URL).toMatch(/^mongodb:\/\/mongo:27017\//);
    for (const secret of ['AUGMENTOS_AUTH_JWT_SECRET', 'ADMIN_API_KEY', 'INGEST_CALLBACK_SECRET'])
      expect(env[secret], secret).toMatch(new RegExp(`^\\$\\{${secret}:\\?`)); // required: Compose refuses to start
    expect(dependsOn(cloud)).toMatchObject({ redis: 'service_healthy', mongo: 'service_healthy' });
    // Every variable the override adds is one the config reads.
    const known = new Set<string>(ENV_KEYS);
    const override = parseYaml(readFileSync(join(ROOT, 'docker-compose.cluster.yml'), 'utf8'), {
      customTags: [RESET],
    }) as ComposeFile;
    for (const k of Object.keys(override.services.cloud!.environment ?? {})) expect(known.has(k), k).toBe(true);
  });

  it('the config loads from what the cluster gives the cloud once the secrets are set, in cluster mode on MongoDB', () => {
    const secrets = {
      AUGMENTOS_AUTH_JWT_SECRET: 'a'.repeat(48),
      ADMIN_API_KEY: 'b'.repeat(48),
      INGEST_CALLBACK_SECRET: 'c'.repeat(48),
    };
    // `${X:?message}` is Compose's "required"; with X set it is X.
    const required = Object.fromEntries(Object.keys(secrets).map((k) => [k, `\${${k}}`]));
    const given = serviceEnv({ environment: { ...env, ...required } }, secrets);
    const dataDir = mkdtempSync(join(tmpdir(), 'mentra-cluster-compose-'));
    try {
      const cfg = loadConfig({ ...stageEnv(runtimeStage(readDockerfile())), ...given, DATA_DIR: dataDir });
      expect(cfg.cluster).toBe(true);
      expect(cfg.redisUrl).toBe('redis://redis:6379');
      expect(cfg.store).toBe('mongo');
      expect(cfg.adminApiKey).toBe(secrets.ADMIN_API_KEY);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('redis runs with an append-only file and never evicts', () => {
    const command = (services.redis as { command?: string[] }).command!;
    expect(command[0]).toBe('redis-server');
    const arg = (name: string) => command[command.indexOf(name) + 1];
    expect(arg('--appendonly')).toBe('yes');
    expect(arg('--maxmemory-policy')).toBe('noeviction');
    expect(serviceVolumes(services.redis!).map((v) => v.target)).toContain('/data');
  });

  it('nginx mounts the template the tests use, its njs script and the entrypoint that fills it, and waits for the cloud', () => {
    const mounts = serviceVolumes(services.nginx!);
    for (const file of ['cluster.conf.template', 'cluster.js', 'cluster-entrypoint.sh']) {
      const m = mounts.find((v) => v.source === `./deploy/nginx/${file}`);
      expect(m, file).toBeDefined();
      expect(readFileSync(join(ROOT, 'deploy/nginx', file), 'utf8').length).toBeGreaterThan(0);
    }
    expect((services.nginx as { entrypoint?: string[] }).entrypoint?.join(' ')).toContain('cluster-entrypoint.sh');
    expect(serviceEnv(services.nginx!).CLOUD_UPSTREAM).toBe('cloud:8002');
    expect(dependsOn(services.nginx!).cloud).toBe('service_healthy');
    // The entrypoint fills every placeholder the template has.
    const template = readFileSync(join(ROOT, 'deploy/nginx/cluster.conf.template'), 'utf8');
    const entrypoint = readFileSync(join(ROOT, 'deploy/nginx/cluster-entrypoint.sh'), 'utf8');
    for (const placeholder of new Set(template.match(/\{\{[A-Z_]+\}\}/g)))
      expect(entrypoint, placeholder).toContain(`s#${placeholder}#`);
  });
});
