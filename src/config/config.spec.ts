import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from './app-config.js';
import { DataDirError } from './data-dir.js';
import { loadConfig } from './load-config.js';
import { loadOrCreateSecrets } from './secrets.store.js';

const JWT = 'jwt-secret-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

describe('loadConfig', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function dataDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'mentra-config-'));
    dirs.push(d);
    return d;
  }

  function problemsOf(fn: () => unknown): string[] {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  }

  describe('app starts per app', () => {
    const env = (extra: Record<string, string>) => ({
      DATA_DIR: dataDir(),
      AUGMENTOS_AUTH_JWT_SECRET: JWT,
      ADMIN_API_KEY: ADMIN,
      ...extra,
    });

    it('defaults to 64, or half of APP_WS_PENDING_PER_ADDRESS when that is lower; restores retry 4 times', () => {
      expect(loadConfig(env({}))).toMatchObject({ appStartsPerApp: 64, appRestoreRetries: 4 });
      expect(loadConfig(env({ APP_WS_PENDING_PER_ADDRESS: '16' })).appStartsPerApp).toBe(8);
      expect(loadConfig(env({ APP_WS_PENDING_PER_ADDRESS: '1' })).appStartsPerApp).toBe(1);
      expect(loadConfig(env({ APP_STARTS_PER_APP: '10', APP_RESTORE_RETRIES: '0' }))).toMatchObject({
        appStartsPerApp: 10,
        appRestoreRetries: 0,
      });
    });

    it('refuses APP_STARTS_PER_APP above APP_WS_PENDING_PER_ADDRESS, below 1, or APP_RESTORE_RETRIES out of range', () => {
      expect(
        problemsOf(() => loadConfig(env({ APP_STARTS_PER_APP: '17', APP_WS_PENDING_PER_ADDRESS: '16' }))).join('\n'),
      ).toMatch(/APP_STARTS_PER_APP \(17\) must not exceed APP_WS_PENDING_PER_ADDRESS \(16\)/);
      expect(problemsOf(() => loadConfig(env({ APP_STARTS_PER_APP: '0' }))).join('\n')).toMatch(/APP_STARTS_PER_APP/);
      expect(problemsOf(() => loadConfig(env({ APP_RESTORE_RETRIES: '-1' }))).join('\n')).toMatch(
        /APP_RESTORE_RETRIES/,
      );
    });
  });

  describe('secrets', () => {
    it('generates missing secrets once in DATA_DIR (mode 0600) and reuses them', () => {
      const dir = dataDir();
      const first = loadConfig({ DATA_DIR: dir });
      const file = join(dir, 'secrets.json');
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(file, 'utf8'));
      expect(first.jwtSecret).toBe(stored.jwtSecret);
      expect(first.adminApiKey).toBe(stored.adminApiKey);
      expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
      expect(first.adminApiKey.length).toBeGreaterThanOrEqual(32);
      expect(first.jwtSecret).not.toBe(first.adminApiKey);
      expect(first.adminKeyFromDataDir).toBe(true);

      const second = loadConfig({ DATA_DIR: dir });
      expect(second.jwtSecret).toBe(first.jwtSecret);
      expect(second.adminApiKey).toBe(first.adminApiKey);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });

    it('two data dirs get different secrets', () => {
      const a = loadConfig({ DATA_DIR: dataDir() });
      const b = loadConfig({ DATA_DIR: dataDir() });
      expect(a.jwtSecret).not.toBe(b.jwtSecret);
      expect(a.adminApiKey).not.toBe(b.adminApiKey);
    });

    it('creates DATA_DIR when it does not exist yet', () => {
      const dir = join(dataDir(), 'nested', 'data');
      const cfg = loadConfig({ DATA_DIR: dir });
      expect(cfg.dataDir).toBe(dir);
      expect(existsSync(join(dir, 'secrets.json'))).toBe(true);
    });

    it('environment secrets win over stored ones', () => {
      const dir = dataDir();
      const generated = loadConfig({ DATA_DIR: dir });
      const cfg = loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN });
      expect(cfg.jwtSecret).toBe(JWT);
      expect(cfg.adminApiKey).toBe(ADMIN);
      expect(cfg.adminKeyFromDataDir).toBe(false);
      expect(cfg.jwtSecret).not.toBe(generated.jwtSecret);
    });

    it('one secret from the environment, the other from DATA_DIR', () => {
      const dir = dataDir();
      const generated = loadConfig({ DATA_DIR: dir });
      const jwtOnly = loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT });
      expect(jwtOnly.jwtSecret).toBe(JWT);
      expect(jwtOnly.adminApiKey).toBe(generated.adminApiKey);
      expect(jwtOnly.adminKeyFromDataDir).toBe(true);
      const adminOnly = loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: ADMIN });
      expect(adminOnly.adminApiKey).toBe(ADMIN);
      expect(adminOnly.jwtSecret).toBe(generated.jwtSecret);
      expect(adminOnly.adminKeyFromDataDir).toBe(false);
    });

    it('says the admin key was generated only on the load that generated it', () => {
      const dir = dataDir();
      expect(loadConfig({ DATA_DIR: dir }).adminKeyGenerated).toBe(true);
      const again = loadConfig({ DATA_DIR: dir });
      expect(again.adminKeyFromDataDir).toBe(true);
      expect(again.adminKeyGenerated).toBe(false);
      // Secrets generated for the JWT alone do not count: the admin key came from the environment.
      expect(loadConfig({ DATA_DIR: dataDir(), ADMIN_API_KEY: ADMIN }).adminKeyGenerated).toBe(false);
    });

    it('creates DATA_DIR with mode 0700 even when both secrets come from the environment', () => {
      const dir = join(dataDir(), 'private');
      loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN });
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    });

    it('a DATA_DIR that is a file is a DataDirError saying so', () => {
      const file = join(dataDir(), 'a-file');
      writeFileSync(file, '');
      expect(() => loadConfig({ DATA_DIR: file })).toThrow(DataDirError);
      expect(() => loadConfig({ DATA_DIR: file })).toThrow(`DATA_DIR ${file}`);
    });

    it('writes nothing to DATA_DIR when both secrets come from the environment', () => {
      const dir = dataDir();
      loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN });
      expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
    });

    it.each([[''], ['   '], ['\t\n']])('an empty secret (%j) is unset: a strong one is generated', (empty) => {
      const dir = dataDir();
      const cfg = loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: empty, ADMIN_API_KEY: empty });
      const stored = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'));
      expect(cfg.jwtSecret).toBe(stored.jwtSecret);
      expect(cfg.adminApiKey).toBe(stored.adminApiKey);
      expect(cfg.jwtSecret.trim().length).toBeGreaterThanOrEqual(32);
      expect(cfg.adminApiKey.trim().length).toBeGreaterThanOrEqual(32);
    });

    it('a short secret is a ConfigError naming the variable', () => {
      const dir = dataDir();
      const jwtProblems = problemsOf(() =>
        loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: 'short', ADMIN_API_KEY: ADMIN }),
      );
      expect(jwtProblems.join('\n')).toMatch(/AUGMENTOS_AUTH_JWT_SECRET/);
      expect(jwtProblems.join('\n')).not.toMatch(/ADMIN_API_KEY/);
      const adminProblems = problemsOf(() =>
        loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: '123456789012345' }),
      );
      expect(adminProblems.join('\n')).toMatch(/ADMIN_API_KEY/);
      // 16 characters is enough.
      expect(
        loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: '1234567890123456' }).adminApiKey,
      ).toBe('1234567890123456');
      // A failed load generates nothing.
      expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
    });

    it('the secret is never the message: a short secret is not echoed back', () => {
      const err = (() => {
        try {
          loadConfig({ DATA_DIR: dataDir(), ADMIN_API_KEY: 'tiny-s3cret' });
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.message).not.toContain('tiny-s3cret');
    });

    it('ADMIN_API_KEY equal to the JWT secret is refused with a ConfigError naming both', () => {
      const problems = problemsOf(() =>
        loadConfig({ DATA_DIR: dataDir(), AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: JWT }),
      );
      expect(problems.join('\n')).toMatch(/ADMIN_API_KEY/);
      expect(problems.join('\n')).toMatch(/AUGMENTOS_AUTH_JWT_SECRET/);
    });

    it('ADMIN_API_KEY equal to a stored JWT secret is refused too', () => {
      const dir = dataDir();
      const generated = loadConfig({ DATA_DIR: dir });
      expect(() => loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: generated.jwtSecret })).toThrow(/ADMIN_API_KEY/);
    });

    it.each([
      ['not JSON', '{ not json'],
      ['empty', ''],
      ['null', 'null'],
      ['an array', '[]'],
      ['a number', '42'],
      ['missing the admin key', JSON.stringify({ jwtSecret: 'x'.repeat(64) })],
      ['secrets too short', JSON.stringify({ jwtSecret: 'short', adminApiKey: 'short' })],
      ['secrets of the wrong type', JSON.stringify({ jwtSecret: 1, adminApiKey: true })],
      ['the same secret twice', JSON.stringify({ jwtSecret: 'x'.repeat(64), adminApiKey: 'x'.repeat(64) })],
    ])('a damaged secrets.json (%s) is a clear error naming the file', (_label, content) => {
      const dir = dataDir();
      const file = join(dir, 'secrets.json');
      writeFileSync(file, content, { mode: 0o600 });
      let error: unknown;
      try {
        loadConfig({ DATA_DIR: dir });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      expect(message).toContain(file);
      expect(message).toMatch(/damaged|invalid/i);
      expect(message).toMatch(/delete/i);
      // The file is left for the operator to inspect.
      expect(readFileSync(file, 'utf8')).toBe(content);
    });

    it('an unreadable secrets.json (here: a directory) is an error naming the file, not a silent regeneration', () => {
      const dir = dataDir();
      const file = join(dir, 'secrets.json');
      mkdirSync(file);
      expect(() => loadConfig({ DATA_DIR: dir })).toThrow(file);
      expect(statSync(file).isDirectory()).toBe(true);
    });

    it('loadOrCreateSecrets reports whether it created the file', () => {
      const dir = dataDir();
      expect(loadOrCreateSecrets(dir).created).toBe(true);
      expect(loadOrCreateSecrets(dir).created).toBe(false);
    });
  });

  describe('ingest callback secret', () => {
    const managed = {
      AUGMENTOS_AUTH_JWT_SECRET: JWT,
      ADMIN_API_KEY: ADMIN,
      MANAGED_RTMP_INGEST_URL: 'rtmp://localhost:1935/live',
      MANAGED_HLS_BASE_URL: 'http://localhost:8081/hls',
      MANAGED_DASH_BASE_URL: 'http://localhost:8081/dash',
    };

    it('is generated once into DATA_DIR/ingest-callback-secret (mode 0600) when managed streaming has none', () => {
      const dir = dataDir();
      const first = loadConfig({ ...managed, DATA_DIR: dir }).streaming.managed!.callbackSecret;
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      const file = join(dir, 'ingest-callback-secret');
      expect(readFileSync(file, 'utf8').trim()).toBe(first);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadConfig({ ...managed, DATA_DIR: dir }).streaming.managed!.callbackSecret).toBe(first);
    });

    it('INGEST_CALLBACK_SECRET wins and nothing is written; without managed streaming there is none', () => {
      const dir = dataDir();
      const secret = 's'.repeat(40);
      expect(
        loadConfig({ ...managed, DATA_DIR: dir, INGEST_CALLBACK_SECRET: secret }).streaming.managed!.callbackSecret,
      ).toBe(secret);
      expect(existsSync(join(dir, 'ingest-callback-secret'))).toBe(false);
      expect(
        loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN }).streaming.managed,
      ).toBeUndefined();
      expect(existsSync(join(dir, 'ingest-callback-secret'))).toBe(false);
    });

    it.each(['short', 'x'.repeat(31), 'has spaces in it and is long enough to pass', 'a/b'.repeat(20)])(
      'a weak or unsafe INGEST_CALLBACK_SECRET (%s) is a ConfigError',
      (bad) => {
        const problems = problemsOf(() => loadConfig({ ...managed, DATA_DIR: dataDir(), INGEST_CALLBACK_SECRET: bad }));
        expect(problems.join('\n')).toMatch(/INGEST_CALLBACK_SECRET/);
      },
    );
  });

  describe('validation', () => {
    const base = (): Record<string, string> => ({
      DATA_DIR: dataDir(),
      AUGMENTOS_AUTH_JWT_SECRET: JWT,
      ADMIN_API_KEY: ADMIN,
    });

    it.each([['abc'], ['70000'], ['-1'], ['80.5'], ['8002abc']])('PORT=%j is a ConfigError naming PORT', (port) => {
      const problems = problemsOf(() => loadConfig({ ...base(), PORT: port }));
      expect(problems.join('\n')).toMatch(/PORT/);
    });

    it('PORT=abc says it must be an integer', () => {
      expect(problemsOf(() => loadConfig({ ...base(), PORT: 'abc' }))).toContain('PORT must be an integer number');
    });

    it.each([['not a url'], ['ftp://example.com'], ['example.com'], ['http://']])(
      'PUBLIC_URL=%j is a ConfigError naming PUBLIC_URL',
      (url) => {
        const problems = problemsOf(() => loadConfig({ ...base(), PUBLIC_URL: url }));
        expect(problems.join('\n')).toMatch(/PUBLIC_URL/);
      },
    );

    it.each([['localhost:27017'], ['http://mongo:27017'], ['mongodb:/x']])(
      'MONGO_URL=%j is a ConfigError naming MONGO_URL',
      (url) => {
        const problems = problemsOf(() => loadConfig({ ...base(), MONGO_URL: url }));
        expect(problems.join('\n')).toMatch(/MONGO_URL/);
      },
    );

    it('LOG_LEVEL must be a known level', () => {
      const problems = problemsOf(() => loadConfig({ ...base(), LOG_LEVEL: 'loud' }));
      expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
      for (const level of ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const) {
        expect(loadConfig({ ...base(), LOG_LEVEL: level }).logLevel).toBe(level);
      }
    });

    it('lists every problem at once', () => {
      let error: ConfigError | undefined;
      try {
        loadConfig({
          DATA_DIR: dataDir(),
          PORT: 'abc',
          PUBLIC_URL: 'nope',
          MONGO_URL: 'nope',
          LOG_LEVEL: 'loud',
          ADMIN_API_KEY: 'short',
          GLASSES_GRACE_MS: '-5',
        });
      } catch (err) {
        error = err as ConfigError;
      }
      expect(error).toBeInstanceOf(ConfigError);
      for (const name of ['PORT', 'PUBLIC_URL', 'MONGO_URL', 'LOG_LEVEL', 'ADMIN_API_KEY', 'GLASSES_GRACE_MS']) {
        expect(
          error!.problems.some((p) => p.includes(name)),
          `${name} in ${JSON.stringify(error!.problems)}`,
        ).toBe(true);
        expect(error!.message).toContain(name);
      }
      expect(error!.message).toMatch(/^Invalid configuration/);
    });

    it('accepts valid values', () => {
      const cfg = loadConfig({
        ...base(),
        PORT: '9000',
        MONGO_URL: 'mongodb://mongo:27017/mentra',
        LOG_LEVEL: 'warn',
        GLASSES_GRACE_MS: '1000',
        APP_GRACE_MS: '200',
        APP_INIT_TIMEOUT_MS: '700',
      });
      expect(cfg).toMatchObject({
        port: 9000,
        mongoUrl: 'mongodb://mongo:27017/mentra',
        logLevel: 'warn',
        glassesGraceMs: 1000,
        appGraceMs: 200,
        appInitTimeoutMs: 700,
      });
      expect(loadConfig({ ...base(), MONGO_URL: 'mongodb+srv://u:p@cluster.example.net/db' }).mongoUrl).toBe(
        'mongodb+srv://u:p@cluster.example.net/db',
      );
    });

    it('POSTHOG_API_KEY turns the PostHog sink on (POSTHOG_HOST defaults to PostHog Cloud US); a short key or a bad host is refused', () => {
      expect(loadConfig(base()).posthog).toBeUndefined();
      expect(loadConfig({ ...base(), POSTHOG_API_KEY: 'phc_0123456789' }).posthog).toEqual({
        apiKey: 'phc_0123456789',
        host: 'https://us.i.posthog.com',
      });
      expect(
        loadConfig({ ...base(), POSTHOG_API_KEY: 'phc_0123456789', POSTHOG_HOST: 'http://posthog.internal:8000/' })
          .posthog,
      ).toEqual({ apiKey: 'phc_0123456789', host: 'http://posthog.internal:8000' });
      expect(problemsOf(() => loadConfig({ ...base(), POSTHOG_API_KEY: 'phc' })).join('\n')).toMatch(/POSTHOG_API_KEY/);
      expect(problemsOf(() => loadConfig({ ...base(), POSTHOG_HOST: 'posthog' })).join('\n')).toMatch(/POSTHOG_HOST/);
    });

    it('token lifetimes: 30 days and 5 minutes by default; bounds and integers enforced, each problem named', () => {
      const cfg = loadConfig(base());
      expect(cfg.coreTokenTtlSeconds).toBe(30 * 86_400);
      expect(cfg.simulatorTokenTtlSeconds).toBe(300);
      expect(loadConfig({ ...base(), CORE_TOKEN_TTL_SECONDS: '3600' }).coreTokenTtlSeconds).toBe(3600);
      expect(loadConfig({ ...base(), SIMULATOR_TOKEN_TTL_SECONDS: '60' }).simulatorTokenTtlSeconds).toBe(60);
      for (const bad of ['0', '59', '31536001', '1.5', 'forever', '-1'])
        expect(problemsOf(() => loadConfig({ ...base(), CORE_TOKEN_TTL_SECONDS: bad })).join('\n')).toMatch(
          /CORE_TOKEN_TTL_SECONDS/,
        );
      for (const bad of ['0', '9', '3601', 'soon'])
        expect(problemsOf(() => loadConfig({ ...base(), SIMULATOR_TOKEN_TTL_SECONDS: bad })).join('\n')).toMatch(
          /SIMULATOR_TOKEN_TTL_SECONDS/,
        );
    });

    it('ignores unrelated environment variables', () => {
      const cfg = loadConfig({ ...base(), HOME: '/root', PATH: '/usr/bin', SOMETHING: 'x' });
      expect(cfg.port).toBe(8002);
    });

    it.each([
      ['PORT'],
      ['GLASSES_GRACE_MS'],
      ['APP_GRACE_MS'],
      ['LOG_LEVEL'],
      ['HOST'],
      ['DATA_DIR'],
      ['PUBLIC_URL'],
      ['MONGO_URL'],
    ])('an empty %s is unset (its default), never 0 or ""', (name) => {
      const dir = dataDir();
      const defaults = loadConfig({ DATA_DIR: dir, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN });
      const env: Record<string, string> = { AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN, [name]: '' };
      if (name !== 'DATA_DIR') env.DATA_DIR = dir;
      const cfg = loadConfig(env);
      const { dataDir: _a, ...restCfg } = cfg;
      const { dataDir: _b, ...restDefaults } = defaults;
      expect(restCfg).toEqual(restDefaults);
      if (name === 'DATA_DIR') expect(cfg.dataDir).toMatch(/data$/);
    });
  });

  describe('defaults and derived values', () => {
    it('has the documented defaults', () => {
      const cfg = loadConfig({ DATA_DIR: dataDir(), AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN });
      expect(cfg).toMatchObject({
        port: 8002,
        host: '0.0.0.0',
        glassesGraceMs: 60_000,
        appGraceMs: 5_000,
        appInitTimeoutMs: 5_000,
        logLevel: 'log',
        publicUrl: 'http://localhost:8002',
        appWsUrl: 'ws://localhost:8002/app-ws',
        maxAppRoomsPerUser: 20,
        simpleStorageMaxUsersPerPackage: 10_000,
      });
      expect(cfg.mongoUrl).toBeUndefined();
    });

    it('DATA_DIR defaults to ./data, resolved to an absolute path', () => {
      const env = parseEnv({});
      expect(env.DATA_DIR).toBe('./data');
      const dir = dataDir();
      const cfg = loadConfig({
        DATA_DIR: join(dir, '.', 'store'),
        AUGMENTOS_AUTH_JWT_SECRET: JWT,
        ADMIN_API_KEY: ADMIN,
      });
      expect(cfg.dataDir).toBe(join(dir, 'store'));
    });

    it('the default public URL follows PORT', () => {
      const cfg = loadConfig({
        DATA_DIR: dataDir(),
        AUGMENTOS_AUTH_JWT_SECRET: JWT,
        ADMIN_API_KEY: ADMIN,
        PORT: '9123',
      });
      expect(cfg.publicUrl).toBe('http://localhost:9123');
      expect(cfg.appWsUrl).toBe('ws://localhost:9123/app-ws');
    });

    it.each([
      ['https://x.example', 'https://x.example', 'wss://x.example/app-ws'],
      ['https://x.example/', 'https://x.example', 'wss://x.example/app-ws'],
      ['http://10.0.0.5:8002', 'http://10.0.0.5:8002', 'ws://10.0.0.5:8002/app-ws'],
      ['https://x.example/mentra//', 'https://x.example/mentra', 'wss://x.example/mentra/app-ws'],
      ['http://localhost:8002', 'http://localhost:8002', 'ws://localhost:8002/app-ws'],
    ])('PUBLIC_URL %s → appWsUrl %s', (input, publicUrl, appWsUrl) => {
      const cfg = loadConfig({
        DATA_DIR: dataDir(),
        AUGMENTOS_AUTH_JWT_SECRET: JWT,
        ADMIN_API_KEY: ADMIN,
        PUBLIC_URL: input,
      });
      expect(cfg.publicUrl).toBe(publicUrl);
      expect(cfg.appWsUrl).toBe(appWsUrl);
    });
  });

  describe('phone sign-in', () => {
    const base = (): Record<string, string> => ({
      DATA_DIR: dataDir(),
      AUGMENTOS_AUTH_JWT_SECRET: JWT,
      ADMIN_API_KEY: ADMIN,
    });
    const SUPABASE = 'supabase-jwt-secret-0123456789abcdef-xyz';

    it('defaults to verified sign-in with nothing configured (the route then answers 501)', () => {
      expect(loadConfig(base()).phoneAuth).toEqual({
        mode: 'jwt',
        hsSecret: undefined,
        jwksUrl: undefined,
        issuer: undefined,
        audience: undefined,
      });
    });

    it('reads the secret, JWKS URL, issuer and audience', () => {
      const cfg = loadConfig({
        ...base(),
        SUPABASE_JWT_SECRET: SUPABASE,
        PHONE_AUTH_JWKS_URL: 'https://ref.supabase.co/auth/v1/.well-known/jwks.json',
        PHONE_AUTH_ISSUER: 'https://ref.supabase.co/auth/v1',
        PHONE_AUTH_AUDIENCE: 'authenticated',
      });
      expect(cfg.phoneAuth).toEqual({
        mode: 'jwt',
        hsSecret: SUPABASE,
        jwksUrl: 'https://ref.supabase.co/auth/v1/.well-known/jwks.json',
        issuer: 'https://ref.supabase.co/auth/v1',
        audience: 'authenticated',
      });
    });

    it('PHONE_AUTH=dev with NODE_ENV=production is a ConfigError, raised before DATA_DIR is touched', () => {
      const dir = join(dataDir(), 'fresh');
      const problems = problemsOf(() => loadConfig({ DATA_DIR: dir, PHONE_AUTH: 'dev', NODE_ENV: 'production' }));
      expect(problems.join('\n')).toMatch(/PHONE_AUTH=dev .*NODE_ENV=production/);
      expect(existsSync(dir)).toBe(false);
      expect(loadConfig({ ...base(), PHONE_AUTH: 'dev', NODE_ENV: 'development' }).phoneAuth.mode).toBe('dev');
    });

    it.each([['sometimes'], ['off']])('PHONE_AUTH=%j is a ConfigError', (mode) => {
      expect(problemsOf(() => loadConfig({ ...base(), PHONE_AUTH: mode })).join('\n')).toMatch(/PHONE_AUTH/);
    });

    it('PHONE_AUTH_JWKS_URL must be a URL, and https unless it is on this machine', () => {
      for (const bad of ['not a url', 'ftp://keys.example.com/jwks.json', 'http://keys.example.com/jwks.json']) {
        expect(problemsOf(() => loadConfig({ ...base(), PHONE_AUTH_JWKS_URL: bad })).join('\n')).toMatch(
          /PHONE_AUTH_JWKS_URL/,
        );
      }
      for (const ok of [
        'https://keys.example.com/jwks.json',
        'http://127.0.0.1:9999/jwks.json',
        'http://localhost/j',
      ]) {
        expect(loadConfig({ ...base(), PHONE_AUTH_JWKS_URL: ok }).phoneAuth.jwksUrl).toBe(ok);
      }
    });

    it('SUPABASE_JWT_SECRET needs 32 characters and must differ from the core-token secret', () => {
      expect(problemsOf(() => loadConfig({ ...base(), SUPABASE_JWT_SECRET: 'short-secret' }))).toContain(
        'SUPABASE_JWT_SECRET must be at least 32 characters',
      );
      const same = 'the-same-secret-on-both-sides-0123456789';
      expect(
        problemsOf(() => loadConfig({ ...base(), AUGMENTOS_AUTH_JWT_SECRET: same, SUPABASE_JWT_SECRET: same })),
      ).toEqual(['SUPABASE_JWT_SECRET must differ from AUGMENTOS_AUTH_JWT_SECRET']);
    });
  });

  describe('limits', () => {
    const base = () => ({ DATA_DIR: dataDir(), AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN });

    it('have the documented defaults', () => {
      const cfg = loadConfig(base());
      expect(cfg).toMatchObject({
        trustProxy: false,
        appWsInitMaxBytes: 4096,
        appWsInitDeadlineMs: 5000,
        appWsPendingPerAddress: 256,
        glassesMaxFrameBytes: 262_144,
        glassesAudioFramesPerSecond: 250,
        maxLanguageStreamsPerSession: 4,
        maxWebviewTempTokensPerUser: 20,
        maxJsonBodyDepth: 32,
      });
    });

    it('the glasses frame limit never exceeds MAX_FRAME_BYTES', () => {
      expect(loadConfig({ ...base(), MAX_FRAME_BYTES: '65536' }).glassesMaxFrameBytes).toBe(65_536);
    });

    it('refuses values that would disable or break a limit', () => {
      const problems = problemsOf(() =>
        loadConfig({
          ...base(),
          APP_WS_INIT_MAX_BYTES: '100',
          APP_WS_PENDING_PER_ADDRESS: '0',
          MAX_LANGUAGE_STREAMS_PER_SESSION: '0',
          MAX_JSON_BODY_DEPTH: '100000',
        }),
      );
      expect(problems.join('\n')).toMatch(/APP_WS_INIT_MAX_BYTES/);
      expect(problems.join('\n')).toMatch(/APP_WS_PENDING_PER_ADDRESS/);
      expect(problems.join('\n')).toMatch(/MAX_LANGUAGE_STREAMS_PER_SESSION/);
      expect(problems.join('\n')).toMatch(/MAX_JSON_BODY_DEPTH/);
    });

    it.each([
      ['false', false],
      ['0', false],
      ['1', 1],
      ['loopback', ['loopback']],
      ['10.0.0.0/8, 192.168.1.7,fd00::/8', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']],
      ['10.0.0.0/255.0.0.0', ['10.0.0.0/255.0.0.0']],
    ])('TRUST_PROXY=%s → %j', (value, expected) => {
      expect(loadConfig({ ...base(), TRUST_PROXY: value }).trustProxy).toEqual(expected);
    });

    it.each(['true', 'proxy.example', '10.0.0.0/33', 'loopback,nonsense'])('TRUST_PROXY=%s is refused', (value) => {
      expect(problemsOf(() => loadConfig({ ...base(), TRUST_PROXY: value })).join()).toMatch(/TRUST_PROXY/);
    });
  });

  describe('store and cluster mode', () => {
    const REDIS = 'redis://127.0.0.1:6379';
    const secrets = { AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ADMIN };

    it('defaults as before: embedded, or mongo when MONGO_URL is set; no cluster without REDIS_URL', () => {
      const plain = loadConfig({ DATA_DIR: dataDir(), ...secrets });
      expect([plain.store, plain.cluster, plain.redisUrl]).toEqual(['embedded', false, undefined]);
      const mongo = loadConfig({ DATA_DIR: dataDir(), ...secrets, MONGO_URL: 'mongodb://mongo:27017/m' });
      expect([mongo.store, mongo.cluster]).toEqual(['mongo', false]);
    });

    it('STORE picks the store; STORE=redis and STORE=mongo need their URL', () => {
      const redis = loadConfig({ DATA_DIR: dataDir(), ...secrets, STORE: 'redis', REDIS_URL: REDIS });
      expect([redis.store, redis.redisUrl, redis.cluster]).toEqual(['redis', REDIS, true]);
      expect(problemsOf(() => loadConfig({ DATA_DIR: dataDir(), ...secrets, STORE: 'redis' }))).toEqual([
        'STORE=redis needs REDIS_URL',
      ]);
      expect(problemsOf(() => loadConfig({ DATA_DIR: dataDir(), ...secrets, STORE: 'mongo' }))).toEqual([
        'STORE=mongo needs MONGO_URL',
      ]);
      expect(problemsOf(() => loadConfig({ DATA_DIR: dataDir(), ...secrets, STORE: 'files' }))).toEqual([
        'STORE must be embedded, mongo or redis',
      ]);
    });

    it.each([['localhost:6379'], ['http://redis:6379'], ['redis://'], ['mongodb://redis:6379']])(
      'REDIS_URL=%j is a ConfigError naming REDIS_URL',
      (url) => {
        expect(problemsOf(() => loadConfig({ DATA_DIR: dataDir(), ...secrets, REDIS_URL: url }))).toEqual([
          'REDIS_URL must be a redis:// or rediss:// URL',
        ]);
      },
    );

    it('accepts redis:// and rediss:// URLs with credentials and a database', () => {
      for (const url of ['redis://:secret@redis:6379/2', 'rediss://user:pw@redis.example.com:6380']) {
        expect(loadConfig({ DATA_DIR: dataDir(), ...secrets, STORE: 'redis', REDIS_URL: url }).redisUrl).toBe(url);
      }
    });

    it('refuses cluster mode (REDIS_URL) on the embedded store, before touching DATA_DIR', () => {
      const dir = join(dataDir(), 'untouched');
      const problems = problemsOf(() => loadConfig({ DATA_DIR: dir, ...secrets, REDIS_URL: REDIS }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/REDIS_URL is set \(cluster mode\) but the store is embedded.*STORE=redis/);
      expect(problemsOf(() => loadConfig({ DATA_DIR: dir, ...secrets, REDIS_URL: REDIS, STORE: 'embedded' }))).toEqual(
        problems,
      );
      expect(existsSync(dir)).toBe(false);
      // A shared store is fine.
      const mongo = { MONGO_URL: 'mongodb://mongo:27017/m', REDIS_URL: REDIS };
      expect(loadConfig({ DATA_DIR: dataDir(), ...secrets, ...mongo })).toMatchObject({
        store: 'mongo',
        cluster: true,
      });
    });

    it('refuses cluster mode without both secrets in the environment, generating none', () => {
      const dir = dataDir();
      const cluster = { DATA_DIR: dir, STORE: 'redis', REDIS_URL: REDIS };
      expect(problemsOf(() => loadConfig(cluster))).toEqual([
        expect.stringMatching(/^REDIS_URL is set \(cluster mode\) but AUGMENTOS_AUTH_JWT_SECRET is not/),
        expect.stringMatching(/^REDIS_URL is set \(cluster mode\) but ADMIN_API_KEY is not/),
      ]);
      expect(problemsOf(() => loadConfig({ ...cluster, ADMIN_API_KEY: ADMIN }))).toEqual([
        expect.stringMatching(/AUGMENTOS_AUTH_JWT_SECRET is not: every process must be given the same one/),
      ]);
      expect(problemsOf(() => loadConfig({ ...cluster, AUGMENTOS_AUTH_JWT_SECRET: JWT, ADMIN_API_KEY: ' ' }))).toEqual([
        expect.stringMatching(/ADMIN_API_KEY is not/),
      ]);
      // Secrets a single process once generated into DATA_DIR do not count: another process would not have them.
      loadConfig({ DATA_DIR: dir });
      expect(existsSync(join(dir, 'secrets.json'))).toBe(true);
      expect(problemsOf(() => loadConfig(cluster))).toHaveLength(2);
      expect(loadConfig({ ...cluster, ...secrets })).toMatchObject({
        cluster: true,
        jwtSecret: JWT,
        adminApiKey: ADMIN,
      });
    });
  });

  describe('cluster leases', () => {
    const base = (): Record<string, string> => ({
      DATA_DIR: dataDir(),
      AUGMENTOS_AUTH_JWT_SECRET: JWT,
      ADMIN_API_KEY: ADMIN,
    });
    it('defaults, and LEASE_RENEW_MS must be under half of LEASE_TTL_MS', () => {
      expect(loadConfig(base()).clusterOptions).toMatchObject({
        leaseTtlMs: 10_000,
        leaseRenewMs: 3_000,
        nodeHeartbeatMs: 2_000,
        requestTimeoutMs: 5_000,
      });
      expect(problemsOf(() => loadConfig({ ...base(), LEASE_TTL_MS: '4000', LEASE_RENEW_MS: '2000' }))).toEqual([
        'LEASE_RENEW_MS (2000) must be under half of LEASE_TTL_MS (4000)',
      ]);
      expect(loadConfig({ ...base(), LEASE_TTL_MS: '4000', LEASE_RENEW_MS: '1999' }).clusterOptions.leaseRenewMs).toBe(
        1999,
      );
      expect(problemsOf(() => loadConfig({ ...base(), CLUSTER_NODE_ID: 'a b' })).join('\n')).toMatch(/CLUSTER_NODE_ID/);
    });
  });
});
