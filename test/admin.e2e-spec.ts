import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_REPOSITORY,
  APP_TYPES,
  PERMISSION_TYPES,
  type AppRepository,
} from '../src/persistence/persistence.types.js';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { connectGlasses, freePort, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, startSdkApp, type SdkAppHandle } from './support/sdk-app.js';

/**
 * The admin REST API over real HTTP against the whole service (embedded store on a temp dir).
 * Nothing of our own is mocked; the stored state is read through the repository only to check hashes.
 */

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const enc = encodeURIComponent;

/** Every admin route the service must have; the OpenAPI document must list at least these. */
const EXPECTED_ADMIN_ROUTES = [
  'post /api/admin/apps',
  'get /api/admin/apps',
  'get /api/admin/apps/{packageName}',
  'patch /api/admin/apps/{packageName}',
  'delete /api/admin/apps/{packageName}',
  'post /api/admin/apps/{packageName}/api-key',
  'get /api/admin/users/{userId}',
  'put /api/admin/users/{userId}/apps/{packageName}',
  'delete /api/admin/users/{userId}/apps/{packageName}',
  'post /api/admin/users/{userId}/token',
  'post /api/admin/users/{userId}/token/revoke',
  'get /api/admin/sessions',
  'get /api/admin/sessions/{userId}',
  'delete /api/admin/sessions/{userId}',
  'post /api/admin/sessions/{userId}/apps/{packageName}/start',
  'post /api/admin/sessions/{userId}/apps/{packageName}/stop',
];

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, { properties?: Record<string, any>; required?: string[] }> };
}

/** A port nothing listens on: connections to it are refused. */
async function refusingUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

function expectErrorBody(body: any, statusCode: number, code?: string): void {
  expect(body).toEqual(expect.objectContaining({ statusCode, code: expect.any(String), message: expect.anything() }));
  if (code) expect(body.code).toBe(code);
}

function messagesOf(body: any): string {
  return (Array.isArray(body?.message) ? body.message : [body?.message]).join('\n');
}

describe('admin REST API', () => {
  let cloud: TestCloud;
  let doc: OpenApiDoc;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    cloud = await startCloud({
      WEBHOOK_RETRY_WINDOW_MS: '500',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_TIMEOUT_MS: '1000',
      GLASSES_GRACE_MS: '60000',
      APP_INIT_TIMEOUT_MS: '1500',
    });
    const res = await fetch(`${cloud.url}/api/docs-json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDoc;
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud?.close();
  });

  const appsRepo = (): AppRepository => cloud.app.get<AppRepository>(APP_REPOSITORY);

  async function createApp(
    packageName: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ app: any; apiKey: string }> {
    const res = await cloud.admin('POST', '/api/admin/apps', {
      packageName,
      name: `App ${packageName}`,
      publicUrl: 'http://127.0.0.1:9',
      ...extra,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async function appCount(): Promise<number> {
    const res = await cloud.admin('GET', '/api/admin/apps');
    expect(res.status).toBe(200);
    return (res.body as unknown[]).length;
  }

  async function glassesFor(userId: string): Promise<SimulatedGlasses> {
    const { glasses, ack } = await connectGlasses(cloud, userId, cleanups);
    expect(ack.type).toBe('connection_ack');
    return glasses;
  }

  /** Every (method, concrete path) of /api/admin/* in the OpenAPI document. */
  function adminOperations(): Array<{ method: string; template: string; path: string }> {
    const ops: Array<{ method: string; template: string; path: string }> = [];
    for (const [template, item] of Object.entries(doc.paths)) {
      if (!template.startsWith('/api/admin')) continue;
      for (const method of Object.keys(item)) {
        if (!HTTP_METHODS.includes(method)) continue;
        const path = template
          .replace('{packageName}', 'com.example.guarded')
          .replace('{userId}', enc('guarded@example.com'))
          .replace(/\{[^}]+\}/g, 'x');
        ops.push({ method, template, path });
      }
    }
    return ops;
  }

  /** Every /api/admin route Express actually serves, as `method /path/{param}` (also those hidden from Swagger). */
  function servedAdminRoutes(): string[] {
    const instance = cloud.app.getHttpAdapter().getInstance() as {
      router?: { stack: any[] };
      _router?: { stack: any[] };
    };
    const stack = (instance.router ?? instance._router)!.stack;
    const routes: string[] = [];
    for (const layer of stack) {
      const path: unknown = layer.route?.path;
      if (typeof path !== 'string' || !path.startsWith('/api/admin')) continue;
      for (const method of Object.keys(layer.route.methods))
        routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
    return routes;
  }

  // ------------------------------------------------------------------ auth

  describe('authentication', () => {
    it('the OpenAPI document lists every admin route', () => {
      const listed = adminOperations().map((o) => `${o.method} ${o.template}`);
      for (const route of EXPECTED_ADMIN_ROUTES) expect(listed).toContain(route);
    });

    it('every admin route the server serves is documented (so the auth sweep below reaches it)', () => {
      const served = servedAdminRoutes();
      expect(served.length).toBeGreaterThanOrEqual(EXPECTED_ADMIN_ROUTES.length);
      const listed = adminOperations().map((o) => `${o.method} ${o.template}`);
      expect(served.filter((r) => !listed.includes(r))).toEqual([]);
    });

    it('every /api/admin route answers 401 with a structured body to a missing or wrong key', async () => {
      const ops = adminOperations();
      expect(ops.length).toBeGreaterThanOrEqual(EXPECTED_ADMIN_ROUTES.length);
      const key = cloud.config.adminApiKey;
      const swapped = key.replace(/[a-z]/g, (c) => c.toUpperCase());
      expect(swapped).not.toBe(key);
      const variants: Array<[string, Record<string, string>]> = [
        ['no header', {}],
        ['wrong key', { authorization: 'Bearer not-the-admin-key-0123456789' }],
        ['JWT secret as key', { authorization: `Bearer ${cloud.config.jwtSecret}` }],
        ['key in other case', { authorization: `Bearer ${swapped}` }],
        ['empty bearer', { authorization: 'Bearer ' }],
        ['bare bearer', { authorization: 'Bearer' }],
        ['key without scheme', { authorization: key }],
        ['basic scheme', { authorization: `Basic ${Buffer.from(`admin:${key}`).toString('base64')}` }],
        ['key with a suffix', { authorization: `Bearer ${key}x` }],
        ['key prefix', { authorization: `Bearer ${key.slice(0, -1)}` }],
      ];
      const failures: string[] = [];
      for (const op of ops) {
        for (const [label, headers] of variants) {
          const body = ['post', 'put', 'patch'].includes(op.method)
            ? JSON.stringify({ packageName: 'com.example.guarded', name: 'x', publicUrl: 'http://127.0.0.1:9' })
            : undefined;
          const res = await fetch(cloud.url + op.path, {
            method: op.method.toUpperCase(),
            headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
            body,
          });
          const text = await res.text();
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const ok =
            res.status === 401 &&
            json?.statusCode === 401 &&
            json?.code === 'UNAUTHORIZED' &&
            typeof json?.message === 'string' &&
            json.message.length > 0;
          if (!ok)
            failures.push(`${op.method.toUpperCase()} ${op.path} [${label}] → ${res.status} ${text.slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
      // Nothing was created by the refused calls.
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.guarded')).status).toBe(404);
    });

    it('the right key works, with any spacing or case of the Bearer scheme', async () => {
      for (const authorization of [
        `Bearer ${cloud.config.adminApiKey}`,
        `bearer ${cloud.config.adminApiKey}`,
        `Bearer   ${cloud.config.adminApiKey}  `,
      ]) {
        const res = await fetch(`${cloud.url}/api/admin/apps`, { headers: { authorization } });
        expect(res.status, authorization).toBe(200);
      }
    });

    it('an unauthenticated call with a bad route parameter is still 401 (auth before validation)', async () => {
      const res = await cloud.admin('GET', `/api/admin/users/${enc('$ne')}`, undefined, 'wrong-key-wrong-key');
      expect(res.status).toBe(401);
      expectErrorBody(res.body, 401, 'UNAUTHORIZED');
    });

    it('GET /health is open and says ok', async () => {
      const res = await fetch(`${cloud.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok' });
    });
  });

  // ------------------------------------------------------------------ swagger

  describe('Swagger', () => {
    it('/api/docs serves the Swagger UI page', async () => {
      const res = await fetch(`${cloud.url}/api/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toMatch(/swagger/i);
    });

    it('/api/docs-json is OpenAPI 3 with bearer auth on admin routes', () => {
      expect(doc.openapi).toMatch(/^3\./);
      for (const route of EXPECTED_ADMIN_ROUTES) {
        const [method, path] = route.split(' ') as [string, string];
        const op = doc.paths[path]?.[method] as { security?: unknown[] } | undefined;
        expect(op, route).toBeDefined();
        expect(op!.security, route).toEqual(
          expect.arrayContaining([expect.objectContaining({ bearer: expect.anything() })]),
        );
      }
    });

    it('documents the DTO schemas with their enums', () => {
      const schemas = doc.components.schemas;
      const create = schemas.CreateAppDto;
      expect(create).toBeDefined();
      const props = create!.properties!;
      for (const p of [
        'packageName',
        'name',
        'description',
        'publicUrl',
        'webviewURL',
        'logoURL',
        'appType',
        'permissions',
        'hardwareRequirements',
        'settings',
      ]) {
        expect(props, p).toHaveProperty(p);
      }
      expect([...props.appType.enum].sort()).toEqual([...APP_TYPES].sort());
      expect(create!.required).toEqual(expect.arrayContaining(['packageName', 'publicUrl']));
      // An app_config.json may leave the name out: it defaults to the package name.
      expect(create!.required).not.toContain('name');
      expect(schemas.PermissionDto?.properties?.type?.enum).toEqual([...PERMISSION_TYPES]);
      expect(schemas.HardwareRequirementDto?.properties?.level?.enum).toEqual(['REQUIRED', 'OPTIONAL']);
      const body = (doc.paths['/api/admin/apps']!.post as any).requestBody.content['application/json'].schema;
      expect(body.$ref).toBe('#/components/schemas/CreateAppDto');
      const patch = (doc.paths['/api/admin/apps/{packageName}']!.patch as any).requestBody.content['application/json']
        .schema;
      expect(patch.$ref).toBe('#/components/schemas/UpdateAppDto');
      expect(schemas.UpdateAppDto?.properties).toHaveProperty('publicUrl');
      expect(schemas.AppView?.properties).not.toHaveProperty('hashedApiKey');
      expect(schemas.CreatedAppView?.properties).toHaveProperty('apiKey');
    });
  });

  // ------------------------------------------------------------------ apps

  describe('apps', () => {
    it('POST creates an app and returns its key once; only the sha256 is stored', async () => {
      const res = await cloud.admin('POST', '/api/admin/apps', {
        packageName: 'com.example.create',
        name: 'Create',
        description: 'd',
        publicUrl: 'http://127.0.0.1:9///',
        appType: 'standard',
        permissions: [{ type: 'MICROPHONE', description: 'mic' }],
        hardwareRequirements: [{ type: 'DISPLAY', level: 'REQUIRED' }],
        settings: [
          { type: 'toggle', key: 'on', label: 'On', defaultValue: true },
          { type: 'group', title: 'More' },
          { type: 'titleValue', label: 'Version', value: '1.0' },
          {
            type: 'select',
            key: 'lang',
            label: 'Language',
            defaultValue: 'en',
            options: [{ label: 'English', value: 'en' }],
          },
          { type: 'slider', key: 'size', label: 'Size', defaultValue: 3, min: 1, max: 5, step: 1 },
          { type: 'text', key: 'note', label: 'Note', placeholder: 'type', maxLines: 3 },
          { type: 'time_picker', key: 'at', label: 'At', defaultValue: 60, showSeconds: false },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { app, apiKey } = res.body;
      expect(apiKey).toMatch(/^[0-9a-f]{64}$/);
      expect(app).not.toHaveProperty('hashedApiKey');
      expect(JSON.stringify(res.body)).not.toContain(sha256(apiKey));
      expect(app).toMatchObject({
        packageName: 'com.example.create',
        name: 'Create',
        publicUrl: 'http://127.0.0.1:9',
        appType: 'standard',
        permissions: [{ type: 'MICROPHONE', description: 'mic' }],
        hardwareRequirements: [{ type: 'DISPLAY', level: 'REQUIRED' }],
      });
      expect(app.settings).toHaveLength(7);
      expect(app.settings[2]).toEqual({ type: 'titleValue', label: 'Version', value: '1.0' });
      expect(app.settings[0]).toEqual({ type: 'toggle', key: 'on', label: 'On', defaultValue: true });
      const stored = await appsRepo().findByPackageName('com.example.create');
      expect(stored?.hashedApiKey).toBe(sha256(apiKey));

      const one = await cloud.admin('GET', '/api/admin/apps/com.example.create');
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ packageName: 'com.example.create', name: 'Create' });
      expect(one.body).not.toHaveProperty('hashedApiKey');

      const list = await cloud.admin('GET', '/api/admin/apps');
      expect(list.status).toBe(200);
      const mine = (list.body as any[]).find((a) => a.packageName === 'com.example.create');
      expect(mine).toMatchObject({ name: 'Create' });
      for (const a of list.body as any[]) expect(a).not.toHaveProperty('hashedApiKey');
    });

    it('defaults appType to background; two apps get different keys', async () => {
      const a = await createApp('com.example.defaults1');
      const b = await createApp('com.example.defaults2');
      expect(a.app.appType).toBe('background');
      expect(a.apiKey).not.toBe(b.apiKey);
    });

    it('a duplicate packageName → 409 and the original key is kept', async () => {
      const { apiKey } = await createApp('com.example.dup');
      const res = await cloud.admin('POST', '/api/admin/apps', {
        packageName: 'com.example.dup',
        name: 'Other',
        publicUrl: 'http://127.0.0.1:10',
      });
      expect(res.status).toBe(409);
      expectErrorBody(res.body, 409, 'CONFLICT');
      const stored = await appsRepo().findByPackageName('com.example.dup');
      expect(stored?.hashedApiKey).toBe(sha256(apiKey));
      expect(stored?.name).toBe('App com.example.dup');
    });

    it('GET / PATCH / DELETE / rotate an unknown app → 404', async () => {
      for (const [method, path, body] of [
        ['GET', '/api/admin/apps/com.example.nope', undefined],
        ['PATCH', '/api/admin/apps/com.example.nope', { name: 'x' }],
        ['DELETE', '/api/admin/apps/com.example.nope', undefined],
        ['POST', '/api/admin/apps/com.example.nope/api-key', undefined],
      ] as const) {
        const res = await cloud.admin(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(404);
        expectErrorBody(res.body, 404, 'APP_NOT_FOUND');
      }
    });

    it('PATCH changes the given fields only and never the package name or key', async () => {
      const { apiKey } = await createApp('com.example.patch', {
        description: 'before',
        permissions: [{ type: 'LOCATION' }],
      });
      const res = await cloud.admin('PATCH', '/api/admin/apps/com.example.patch', {
        name: 'Renamed',
        publicUrl: 'https://apps.example.com/notes/',
        appType: 'standard',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        packageName: 'com.example.patch',
        name: 'Renamed',
        publicUrl: 'https://apps.example.com/notes',
        appType: 'standard',
        description: 'before',
        permissions: [{ type: 'LOCATION' }],
      });
      expect(res.body).not.toHaveProperty('hashedApiKey');
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.patch')).body.name).toBe('Renamed');

      const same = await cloud.admin('PATCH', '/api/admin/apps/com.example.patch', {
        packageName: 'com.example.patch',
        description: 'after',
      });
      expect(same.status).toBe(200);
      expect(same.body.description).toBe('after');

      const rename = await cloud.admin('PATCH', '/api/admin/apps/com.example.patch', {
        packageName: 'com.example.other',
        name: 'Nope',
      });
      expect(rename.status).toBe(400);
      expectErrorBody(rename.body, 400);
      expect(messagesOf(rename.body)).toMatch(/packageName/);
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.other')).status).toBe(404);
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.patch')).body.name).toBe('Renamed');

      const smuggle = await cloud.admin('PATCH', '/api/admin/apps/com.example.patch', { hashedApiKey: sha256('mine') });
      expect(smuggle.status).toBe(400);
      expect((await appsRepo().findByPackageName('com.example.patch'))?.hashedApiKey).toBe(sha256(apiKey));
    });

    it('PATCH refuses to blank out required fields (null is not a value)', async () => {
      await createApp('com.example.nulls');
      for (const field of ['name', 'publicUrl', 'appType', 'permissions', 'hardwareRequirements', 'settings']) {
        const res = await cloud.admin('PATCH', '/api/admin/apps/com.example.nulls', { [field]: null });
        expect(res.status, `${field}: null → ${res.status} ${JSON.stringify(res.body)}`).toBe(400);
        expect(messagesOf(res.body)).toContain(field);
      }
      const after = await cloud.admin('GET', '/api/admin/apps/com.example.nulls');
      expect(after.body).toMatchObject({
        name: 'App com.example.nulls',
        publicUrl: 'http://127.0.0.1:9',
        appType: 'background',
        permissions: [],
        hardwareRequirements: [],
        settings: [],
      });
      const stored = await appsRepo().findByPackageName('com.example.nulls');
      expect(stored).toMatchObject({ name: 'App com.example.nulls', appType: 'background', permissions: [] });
    });

    it('PATCH refuses a body that is not an object', async () => {
      await createApp('com.example.patchbody');
      for (const body of ['[]', '"x"', '{bad']) {
        const res = await cloud.admin('PATCH', '/api/admin/apps/com.example.patchbody', body);
        expect(res.status, `${body} → ${JSON.stringify(res.body)}`).toBe(400);
      }
      const res = await cloud.admin(
        'PATCH',
        '/api/admin/apps/com.example.patchbody',
        `{"__proto__":{"name":"polluted"},"description":"x"}`,
      );
      expect(res.status).toBe(400);
      expect(messagesOf(res.body)).toMatch(/__proto__/);
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.patchbody')).body).not.toHaveProperty(
        'description',
      );
    });

    it('PATCH validates like POST', async () => {
      await createApp('com.example.patchval');
      const res = await cloud.admin('PATCH', '/api/admin/apps/com.example.patchval', {
        publicUrl: 'not a url',
        appType: 'weird',
        isAdmin: true,
      });
      expect(res.status).toBe(400);
      const text = messagesOf(res.body);
      expect(text).toMatch(/publicUrl/);
      expect(text).toMatch(/appType/);
      expect(text).toMatch(/isAdmin/);
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.patchval')).body.publicUrl).toBe(
        'http://127.0.0.1:9',
      );
    });

    it('DELETE → 204, then 404; the app is uninstalled from every user', async () => {
      await createApp('com.example.gone');
      await createApp('com.example.stays');
      for (const u of ['gone1@example.com', 'gone2@example.com']) {
        expect((await cloud.admin('PUT', `/api/admin/users/${enc(u)}/apps/com.example.gone`)).status).toBe(200);
        expect((await cloud.admin('PUT', `/api/admin/users/${enc(u)}/apps/com.example.stays`)).status).toBe(200);
      }
      const del = await fetch(`${cloud.url}/api/admin/apps/com.example.gone`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${cloud.config.adminApiKey}` },
      });
      expect(del.status).toBe(204);
      expect(await del.text()).toBe('');
      expect((await cloud.admin('GET', '/api/admin/apps/com.example.gone')).status).toBe(404);
      expect((await cloud.admin('DELETE', '/api/admin/apps/com.example.gone')).status).toBe(404);
      expect(await appsRepo().findByPackageName('com.example.gone')).toBeNull();
      for (const u of ['gone1@example.com', 'gone2@example.com']) {
        const user = await cloud.admin('GET', `/api/admin/users/${enc(u)}`);
        expect(user.status).toBe(200);
        expect(user.body.installedApps.map((a: any) => a.packageName)).toEqual(['com.example.stays']);
      }
    });

    it('POST :pkg/api-key rotates the key: the new key matches the stored hash, the old one no longer does', async () => {
      const { apiKey: oldKey } = await createApp('com.example.rotate');
      const res = await cloud.admin('POST', '/api/admin/apps/com.example.rotate/api-key');
      expect(res.status).toBe(201);
      const newKey: string = res.body.apiKey;
      expect(newKey).toMatch(/^[0-9a-f]{64}$/);
      expect(newKey).not.toBe(oldKey);
      expect(res.body.app).toMatchObject({ packageName: 'com.example.rotate' });
      expect(res.body.app).not.toHaveProperty('hashedApiKey');
      const stored = await appsRepo().findByPackageName('com.example.rotate');
      expect(stored?.hashedApiKey).toBe(sha256(newKey));
      expect(stored?.hashedApiKey).not.toBe(sha256(oldKey));
    });
  });

  // ------------------------------------------------------------------ validation

  describe('validation', () => {
    const valid = { packageName: 'com.example.valid', name: 'Valid', publicUrl: 'http://127.0.0.1:9' };

    async function rejected(body: unknown, expectMessages: RegExp[]): Promise<void> {
      const before = await appCount();
      const res = await cloud.admin('POST', '/api/admin/apps', body);
      expect(
        res.status,
        `${typeof body === 'string' ? body : JSON.stringify(body)} → ${JSON.stringify(res.body)}`,
      ).toBe(400);
      expectErrorBody(res.body, 400);
      const text = messagesOf(res.body);
      for (const re of expectMessages) expect(text, JSON.stringify(res.body)).toMatch(re);
      expect(await appCount()).toBe(before);
    }

    it.each([['../etc'], ['$where'], ['a'.repeat(300)], [''], ['.hidden'], ['com.example/evil'], ['com example']])(
      'bad packageName %j → 400',
      async (packageName) => {
        await rejected({ ...valid, packageName }, [/packageName/]);
      },
    );

    it('a non-URL publicUrl → 400', async () => {
      await rejected({ ...valid, publicUrl: 'not a url' }, [/publicUrl/]);
      await rejected({ ...valid, publicUrl: 'ftp://example.com' }, [/publicUrl/]);
      await rejected({ ...valid, publicUrl: 'javascript:alert(1)' }, [/publicUrl/]);
    });

    it('unknown appType and permission type → 400', async () => {
      await rejected({ ...valid, appType: 'superuser' }, [/appType/]);
      await rejected({ ...valid, permissions: [{ type: 'ROOT' }] }, [/type/]);
      await rejected({ ...valid, permissions: 'MICROPHONE' }, [/permissions/]);
      await rejected({ ...valid, hardwareRequirements: [{ type: 'DISPLAY', level: 'MAYBE' }] }, [/level/]);
    });

    it('extra unknown properties → 400 naming them', async () => {
      await rejected({ ...valid, isAdmin: true }, [/isAdmin/]);
      await rejected(
        `{"packageName":"com.example.valid","name":"Valid","publicUrl":"http://127.0.0.1:9","__proto__":{"isAdmin":true}}`,
        [/__proto__/],
      );
      await rejected({ ...valid, $gt: '' }, [/\$gt/]);
      await rejected({ ...valid, permissions: [{ type: 'MICROPHONE', $where: 'x' }] }, [/\$where/]);
      await rejected(
        `{"packageName":"com.example.valid","name":"Valid","publicUrl":"http://127.0.0.1:9","constructor":{"prototype":{"isAdmin":true}}}`,
        [/constructor/],
      );
      await rejected(
        `{"packageName":"com.example.valid","name":"Valid","publicUrl":"http://127.0.0.1:9","permissions":[{"type":"CAMERA","__proto__":{"isAdmin":true}}]}`,
        [/__proto__/],
      );
      await rejected(
        `{"packageName":"com.example.valid","name":"Valid","publicUrl":"http://127.0.0.1:9","settings":[{"type":"toggle","key":"k","defaultValue":{"__proto__":{"isAdmin":true}}}]}`,
        [/__proto__/],
      );
      expect(({} as any).isAdmin).toBeUndefined();
    });

    it('wrong types → 400', async () => {
      await rejected({ ...valid, name: 42 }, [/name/]);
      await rejected({ ...valid, name: { $ne: null } }, [/name/]);
      await rejected({ ...valid, packageName: ['com.example.valid'] }, [/packageName/]);
    });

    it('an empty name or a publicUrl with a query or fragment → 400', async () => {
      await rejected({ ...valid, name: '' }, [/name/]);
      await rejected({ ...valid, publicUrl: 'http://127.0.0.1:9/?x=1' }, [/publicUrl/]);
      await rejected({ ...valid, publicUrl: 'http://127.0.0.1:9/#frag' }, [/publicUrl/]);
    });

    it('settings values with keys the stores cannot keep → 400, not 500', async () => {
      await rejected({ ...valid, settings: [{ type: 'toggle', key: 'k', defaultValue: { $where: 'x' } }] }, [
        /\$where/,
      ]);
      await rejected(
        { ...valid, settings: [{ type: 'select', key: 'k', options: [{ label: 'a', value: { 'a.b': 1 } }] }] },
        [/a\.b/],
      );
      await rejected({ ...valid, settings: [{ type: '$x', key: '$k' }] }, [/key/]);
      await createApp('com.example.settingspatch');
      const res = await cloud.admin('PATCH', '/api/admin/apps/com.example.settingspatch', {
        settings: [{ type: 'toggle', key: 'k', defaultValue: { $gt: 1 } }],
      });
      expect(res.status).toBe(400);
      expect(messagesOf(res.body)).toMatch(/\$gt/);
    });

    it('a body nested absurdly deep → 400 (the global depth limit), not a stack overflow', async () => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      await rejected(
        `{"packageName":"com.example.valid","name":"Valid","publicUrl":"http://127.0.0.1:9","settings":[{"type":"t","defaultValue":${deep}}]}`,
        [/at most 32 levels deep/],
      );
      await rejected(
        `{"packageName":"com.example.valid","name":"Valid","publicUrl":"http://127.0.0.1:9","zz":${deep}}`,
        [],
      );
      // Moderate nesting in a setting's value is fine.
      const nested = JSON.parse('{"a":'.repeat(10) + '1' + '}'.repeat(10));
      const ok = await cloud.admin('POST', '/api/admin/apps', {
        packageName: 'com.example.nested',
        name: 'Nested',
        publicUrl: 'http://127.0.0.1:9',
        settings: [{ type: 'text', key: 'k', defaultValue: nested }],
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      expect(ok.body.app.settings[0].defaultValue).toEqual(nested);
    });

    it('several problems are listed together', async () => {
      await rejected({ packageName: '../etc', name: 42, publicUrl: 'nope', appType: 'x', extra: 1 }, [
        /packageName/,
        /name/,
        /publicUrl/,
        /appType/,
        /extra/,
      ]);
    });

    it('missing required fields and an empty body → 400', async () => {
      await rejected({}, [/packageName/, /publicUrl/]);
      await rejected({ name: 'x' }, [/packageName/, /publicUrl/]);
    });

    it('a body that is not JSON → 400', async () => {
      await rejected('{bad', []);
    });

    it('a JSON text sent as another content type is not parsed → 400', async () => {
      const before = await appCount();
      for (const [type, body] of [
        ['text/plain', JSON.stringify(valid)],
        ['application/octet-stream', JSON.stringify(valid)],
      ]) {
        const res = await fetch(`${cloud.url}/api/admin/apps`, {
          method: 'POST',
          headers: { authorization: `Bearer ${cloud.config.adminApiKey}`, 'content-type': type! },
          body,
        });
        expect(res.status, type).toBe(400);
        expectErrorBody(await res.json(), 400);
      }
      expect(await appCount()).toBe(before);
    });

    it('a JSON array, string or null body → 400', async () => {
      await rejected([valid], []);
      await rejected('"com.example.valid"', []);
      await rejected('null', []);
    });

    it('nothing was created by any rejected body', async () => {
      const list = (await cloud.admin('GET', '/api/admin/apps')).body as any[];
      expect(list.map((a) => a.packageName)).not.toContain('com.example.valid');
      expect(await appsRepo().findByPackageName('com.example.valid')).toBeNull();
    });
  });

  // ------------------------------------------------------------------ users

  describe('users', () => {
    it('PUT install creates the user, is idempotent, and 404s for an unknown app', async () => {
      await createApp('com.example.install');
      const user = 'install@example.com';
      expect((await cloud.admin('GET', `/api/admin/users/${enc(user)}`)).status).toBe(404);
      const first = await cloud.admin('PUT', `/api/admin/users/${enc(user)}/apps/com.example.install`);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ userId: user, runningApps: [] });
      expect(first.body.installedApps).toEqual([expect.objectContaining({ packageName: 'com.example.install' })]);
      const again = await cloud.admin('PUT', `/api/admin/users/${enc(user)}/apps/com.example.install`);
      expect(again.status).toBe(200);
      expect(again.body.installedApps).toHaveLength(1);

      const get = await cloud.admin('GET', `/api/admin/users/${enc(user)}`);
      expect(get.status).toBe(200);
      expect(get.body.installedApps.map((a: any) => a.packageName)).toEqual(['com.example.install']);

      const unknown = await cloud.admin('PUT', `/api/admin/users/${enc(user)}/apps/com.example.missing`);
      expect(unknown.status).toBe(404);
      expectErrorBody(unknown.body, 404, 'APP_NOT_FOUND');
      const unknownNewUser = await cloud.admin(
        'PUT',
        `/api/admin/users/${enc('ghost@example.com')}/apps/com.example.missing`,
      );
      expect(unknownNewUser.status).toBe(404);
      expect((await cloud.admin('GET', `/api/admin/users/${enc('ghost@example.com')}`)).status).toBe(404);
    });

    it('user ids are emails compared lower-cased', async () => {
      await createApp('com.example.case');
      const put = await cloud.admin('PUT', `/api/admin/users/${enc('Mixed.Case@Example.com')}/apps/com.example.case`);
      expect(put.status).toBe(200);
      expect(put.body.userId).toBe('mixed.case@example.com');
      expect(
        (await cloud.admin('GET', `/api/admin/users/${enc('mixed.case@example.com')}`)).body.installedApps,
      ).toHaveLength(1);
    });

    it('DELETE uninstalls; an unknown user → 404', async () => {
      await createApp('com.example.uninstall');
      const user = 'uninstall@example.com';
      expect((await cloud.admin('PUT', `/api/admin/users/${enc(user)}/apps/com.example.uninstall`)).status).toBe(200);
      const del = await cloud.admin('DELETE', `/api/admin/users/${enc(user)}/apps/com.example.uninstall`);
      expect(del.status).toBe(200);
      expect(del.body.installedApps).toEqual([]);
      expect((await cloud.admin('GET', `/api/admin/users/${enc(user)}`)).body.installedApps).toEqual([]);
      const unknownUser = await cloud.admin(
        'DELETE',
        `/api/admin/users/${enc('nobody@example.com')}/apps/com.example.uninstall`,
      );
      expect(unknownUser.status).toBe(404);
      expectErrorBody(unknownUser.body, 404, 'USER_NOT_FOUND');
    });

    it('GET an unknown user → 404', async () => {
      const res = await cloud.admin('GET', `/api/admin/users/${enc('unknown@example.com')}`);
      expect(res.status).toBe(404);
      expectErrorBody(res.body, 404, 'USER_NOT_FOUND');
    });

    it('POST :userId/token issues an HS256 core token with the email claim that opens /glasses-ws', async () => {
      const user = 'token@example.com';
      const res = await cloud.admin('POST', `/api/admin/users/${enc(user)}/token`);
      expect(res.status).toBe(201);
      const coreToken: string = res.body.coreToken;
      expect(typeof coreToken).toBe('string');
      const header = JSON.parse(Buffer.from(coreToken.split('.')[0]!, 'base64url').toString('utf8'));
      expect(header.alg).toBe('HS256');
      const payload = jwt.verify(coreToken, cloud.config.jwtSecret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
      expect(payload.email).toBe(user);
      expect(payload.exp).toBe(payload.iat! + cloud.config.coreTokenTtlSeconds);
      expect(res.body.expiresAt).toBe(new Date(payload.exp! * 1000).toISOString());
      expect(() => jwt.verify(coreToken, cloud.config.adminApiKey, { algorithms: ['HS256'] })).toThrow();
      // The user now exists.
      expect((await cloud.admin('GET', `/api/admin/users/${enc(user)}`)).status).toBe(200);

      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: coreToken });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      const ack = await glasses.connect();
      expect(ack.type).toBe('connection_ack');
      await eventually(() => cloud.registry.get(user), 3000, 'session for the token user');
    });

    it.each([
      ['an encoded slash', enc('a/b@example.com')],
      ['$ne', enc('$ne')],
      ['a $where operator inside', enc('x$where@example.com')],
      ['a space', enc('a b@example.com')],
      ['a NUL', '%00a'],
      ['a control char', 'a%01b'],
      ['a newline', 'a%0Ab'],
      ['a backslash', enc('a\\b')],
      ['321 characters', 'a'.repeat(321)],
    ])('a userId with %s → 400 on every user route', async (_label, userId) => {
      await createApp('com.example.badids').catch(() => undefined);
      for (const [method, path] of [
        ['GET', `/api/admin/users/${userId}`],
        ['PUT', `/api/admin/users/${userId}/apps/com.example.badids`],
        ['DELETE', `/api/admin/users/${userId}/apps/com.example.badids`],
        ['POST', `/api/admin/users/${userId}/token`],
        ['POST', `/api/admin/users/${userId}/token/revoke`],
        ['GET', `/api/admin/sessions/${userId}`],
        ['DELETE', `/api/admin/sessions/${userId}`],
        ['POST', `/api/admin/sessions/${userId}/apps/com.example.badids/start`],
        ['POST', `/api/admin/sessions/${userId}/apps/com.example.badids/stop`],
      ] as const) {
        const res = await cloud.admin(method, path);
        expect(res.status, `${method} ${path} → ${JSON.stringify(res.body)}`).toBe(400);
        expectErrorBody(res.body, 400);
        expect(messagesOf(res.body)).toMatch(/userId/);
      }
    });

    it('a bad packageName route parameter → 400', async () => {
      for (const [method, path] of [
        ['GET', `/api/admin/apps/${enc('$where')}`],
        ['PATCH', `/api/admin/apps/${enc('$where')}`],
        ['DELETE', `/api/admin/apps/${enc('.hidden')}`],
        ['POST', `/api/admin/apps/${enc('a b')}/api-key`],
        ['PUT', `/api/admin/users/${enc('a@example.com')}/apps/${enc('$gt')}`],
      ] as const) {
        const res = await cloud.admin(method, path, method === 'PATCH' ? { name: 'x' } : undefined);
        expect(res.status, `${method} ${path} → ${JSON.stringify(res.body)}`).toBe(400);
        expect(messagesOf(res.body)).toMatch(/packageName/);
      }
    });
  });

  // ------------------------------------------------------------------ sessions

  describe('sessions', () => {
    it('GET /sessions lists a connected user with the summary fields; unknown → 404', async () => {
      const user = 'session-list@example.com';
      const before = await cloud.admin('GET', '/api/admin/sessions');
      expect(before.status).toBe(200);
      expect(Array.isArray(before.body)).toBe(true);
      expect((before.body as any[]).map((s) => s.userId)).not.toContain(user);

      await glassesFor(user);
      const list = await cloud.admin('GET', '/api/admin/sessions');
      const mine = (list.body as any[]).find((s) => s.userId === user);
      expect(mine).toBeDefined();
      for (const field of [
        'userId',
        'startTime',
        'disconnectedAt',
        'runningApps',
        'loadingApps',
        'subscriptions',
        'modelName',
        'capabilities',
        'isTranscribing',
      ]) {
        expect(mine, field).toHaveProperty(field);
      }
      expect(Number.isNaN(Date.parse(mine.startTime))).toBe(false);
      expect(mine.disconnectedAt).toBeNull();
      expect(mine.runningApps).toEqual([]);
      expect(mine.loadingApps).toEqual([]);
      expect(typeof mine.subscriptions).toBe('object');
      expect(mine.isTranscribing).toBe(false);

      const one = await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`);
      expect(one.status).toBe(200);
      expect(one.body.userId).toBe(user);
      expect(one.body.startTime).toBe(mine.startTime);

      const unknown = await cloud.admin('GET', `/api/admin/sessions/${enc('nosession@example.com')}`);
      expect(unknown.status).toBe(404);
      expectErrorBody(unknown.body, 404, 'SESSION_NOT_FOUND');
      expect((await cloud.admin('DELETE', `/api/admin/sessions/${enc('nosession@example.com')}`)).status).toBe(404);
      expect(
        (await cloud.admin('POST', `/api/admin/sessions/${enc('nosession@example.com')}/apps/com.example.x/start`))
          .status,
      ).toBe(404);
      expect(
        (await cloud.admin('POST', `/api/admin/sessions/${enc('nosession@example.com')}/apps/com.example.x/stop`))
          .status,
      ).toBe(404);
    });

    it('the sessions list starts empty on a fresh service', async () => {
      const fresh = await startCloud();
      try {
        const res = await fresh.admin('GET', '/api/admin/sessions');
        expect(res.status).toBe(200);
        expect(res.body).toEqual([]);
      } finally {
        await fresh.close();
      }
    });

    it('recent audio is off by default: 409 UNSUPPORTED naming the setting, and nothing is kept', async () => {
      const user = 'session-recent-off@example.com';
      const glasses = await glassesFor(user);
      glasses.sendAudio(Buffer.alloc(3200, 7));
      await eventually(() => (cloud.registry.get(user)?.audio.framesReceived ?? 0) === 1, 2000, 'frame received');
      expect(cloud.registry.get(user)!.audio.recentAudio().length).toBe(0);
      const res = await cloud.admin('GET', `/api/admin/sessions/${enc(user)}/audio/recent`);
      expect(res.status).toBe(409);
      expectErrorBody(res.body, 409, 'UNSUPPORTED');
      expect(JSON.stringify(res.body)).toContain('RECENT_AUDIO_SECONDS');
    });

    it('DELETE /sessions/:userId ends a live session and closes the glasses socket', async () => {
      const user = 'session-end@example.com';
      const glasses = await glassesFor(user);
      expect(cloud.registry.get(user)).toBeDefined();
      const closed = glasses.waitForClose({ timeoutMs: 5000 });
      const res = await fetch(`${cloud.url}/api/admin/sessions/${enc(user)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${cloud.config.adminApiKey}` },
      });
      expect(res.status).toBe(204);
      const info = await closed;
      expect(info.code).toBe(1000);
      expect(glasses.isOpen).toBe(false);
      const list = await cloud.admin('GET', '/api/admin/sessions');
      expect((list.body as any[]).map((s) => s.userId)).not.toContain(user);
      expect((await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`)).status).toBe(404);
      expect(cloud.registry.get(user)).toBeUndefined();
    });

    it('start of an app whose webhook refuses connections fails at the WEBHOOK stage; stop of a not-running app → 409', async () => {
      const user = 'session-start@example.com';
      const publicUrl = await refusingUrl();
      await createApp('com.example.refused', { publicUrl });
      expect((await cloud.admin('PUT', `/api/admin/users/${enc(user)}/apps/com.example.refused`)).status).toBe(200);
      await glassesFor(user);

      const t0 = Date.now();
      const start = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.refused/start`);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(start.status).toBeGreaterThanOrEqual(400);
      expect(start.status).toBeLessThan(600);
      expectErrorBody(start.body, start.status, 'START_FAILED');
      expect(start.body.details?.stage).toBe('WEBHOOK');
      expect(start.body.message).toContain('com.example.refused');

      const summary = await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`);
      expect(summary.body.runningApps).not.toContain('com.example.refused');
      expect(summary.body.loadingApps).not.toContain('com.example.refused');
      expect((await cloud.admin('GET', `/api/admin/users/${enc(user)}`)).body.runningApps).toEqual([]);

      const stop = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.refused/stop`);
      expect(stop.status).toBe(409);
      expectErrorBody(stop.body, 409, 'APP_NOT_RUNNING');
    });

    /** A real @mentra/sdk app registered through the admin API, installed for `user`, its publicUrl pointing at it. */
    async function sdkApp(packageName: string, user: string): Promise<{ handle: SdkAppHandle; apiKey: string }> {
      const { apiKey } = await createApp(packageName, { publicUrl: await refusingUrl() });
      const handle = await startSdkApp(packageName, apiKey, (session) => {
        session.events.onButtonPress(() => undefined);
      });
      cleanups.push(() => handle.close());
      expect((await cloud.admin('PATCH', `/api/admin/apps/${packageName}`, { publicUrl: handle.url })).status).toBe(
        200,
      );
      expect((await cloud.admin('PUT', `/api/admin/users/${enc(user)}/apps/${packageName}`)).status).toBe(200);
      return { handle, apiKey };
    }

    it('start and stop of a real SDK app wait for the outcome', async () => {
      const user = 'session-sdk@example.com';
      const { handle } = await sdkApp('com.example.sdkstart', user);
      await glassesFor(user);
      const start = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkstart/start`);
      expect(start.status, JSON.stringify(start.body)).toBeGreaterThanOrEqual(200);
      expect(start.status).toBeLessThan(300);
      expect(start.body).toEqual({ ok: true, packageName: 'com.example.sdkstart', alreadyRunning: false });
      // The outcome was awaited: the app is running when the response arrives.
      expect(handle.sessions).toHaveLength(1);
      expect((await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`)).body.runningApps).toEqual([
        'com.example.sdkstart',
      ]);
      expect((await cloud.admin('GET', `/api/admin/users/${enc(user)}`)).body.runningApps).toEqual([
        'com.example.sdkstart',
      ]);

      const again = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkstart/start`);
      expect(again.body).toEqual({ ok: true, packageName: 'com.example.sdkstart', alreadyRunning: true });
      expect(handle.sessions).toHaveLength(1);

      const stop = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkstart/stop`);
      expect(stop.status).toBeLessThan(300);
      expect(stop.body).toEqual({ ok: true, packageName: 'com.example.sdkstart' });
      await eventually(() => handle.stops.length === 1, 3000, 'onStop');
      expect((await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`)).body.runningApps).toEqual([]);
      expect((await cloud.admin('GET', `/api/admin/users/${enc(user)}`)).body.runningApps).toEqual([]);
      expect(
        (await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkstart/stop`)).status,
      ).toBe(409);
    });

    it('after a key rotation an SDK app with the old key cannot start; one with the new key can', async () => {
      const user = 'session-rotate@example.com';
      const { handle: oldApp } = await sdkApp('com.example.sdkrotate', user);
      const rotated = await cloud.admin('POST', '/api/admin/apps/com.example.sdkrotate/api-key');
      expect(rotated.status).toBe(201);
      await glassesFor(user);
      const refused = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkrotate/start`);
      expect(refused.status, JSON.stringify(refused.body)).toBeGreaterThanOrEqual(400);
      expect(refused.body.code).toBe('START_FAILED');
      expect((await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`)).body.runningApps).toEqual([]);
      void oldApp;

      const newApp = await startSdkApp('com.example.sdkrotate', rotated.body.apiKey, () => undefined);
      cleanups.push(() => newApp.close());
      expect(
        (await cloud.admin('PATCH', '/api/admin/apps/com.example.sdkrotate', { publicUrl: newApp.url })).status,
      ).toBe(200);
      const ok = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkrotate/start`);
      expect(ok.body, JSON.stringify(ok.body)).toMatchObject({ ok: true });
      expect(newApp.sessions).toHaveLength(1);
    });

    it('DELETE of a running app stops it in the session and uninstalls it', async () => {
      const user = 'session-delete@example.com';
      const { handle } = await sdkApp('com.example.sdkdelete', user);
      await glassesFor(user);
      expect(
        (await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/com.example.sdkdelete/start`)).body,
      ).toMatchObject({ ok: true });
      expect((await cloud.admin('DELETE', '/api/admin/apps/com.example.sdkdelete')).status).toBe(204);
      await eventually(() => handle.stops.length === 1, 3000, 'onStop');
      const summary = await cloud.admin('GET', `/api/admin/sessions/${enc(user)}`);
      expect(summary.body.runningApps).toEqual([]);
      expect(summary.body.subscriptions).not.toHaveProperty('com.example.sdkdelete');
      const userView = await cloud.admin('GET', `/api/admin/users/${enc(user)}`);
      expect(userView.body.installedApps).toEqual([]);
      expect(userView.body.runningApps).toEqual([]);
    });

    it('start of an unknown or not installed app → 4xx with the LOOKUP stage', async () => {
      const user = 'session-lookup@example.com';
      await createApp('com.example.notinstalled');
      await glassesFor(user);
      for (const pkg of ['com.example.doesnotexist', 'com.example.notinstalled']) {
        const res = await cloud.admin('POST', `/api/admin/sessions/${enc(user)}/apps/${pkg}/start`);
        expect(res.status, `${pkg} → ${res.status} ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${pkg} → ${res.status} ${JSON.stringify(res.body)}`).toBeLessThan(500);
        expect(res.body.details?.stage).toBe('LOOKUP');
      }
    });
  });
});

// ------------------------------------------------------------------ the built service

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'main.js');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function runMain(env: Record<string, string>): Run {
  // Only what a bare shell has: no secrets, no store, no log level.
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, output: () => out.replace(ANSI, ''), exited };
}

async function stop(run: Run): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGTERM');
    const t = setTimeout(() => run.child.kill('SIGKILL'), 5000);
    await run.exited;
    clearTimeout(t);
  }
}

/** The exit code, or 'timeout' if the process is still running after `ms`. */
async function exitCode(run: Run, ms: number): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      run.exited,
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('node dist/main.js', () => {
  const dirs: string[] = [];
  const runs: Run[] = [];

  beforeAll(() => {
    if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < newestMtime(join(ROOT, 'src'))) {
      const started = Date.now();
      const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      // tsc still emits on type errors (often someone else's work in progress); only a build that wrote nothing is fatal here.
      if (build.status !== 0 && !(existsSync(MAIN) && statSync(MAIN).mtimeMs >= started - 1000)) {
        throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
      }
      if (build.status !== 0) console.warn(`npm run build reported errors; testing what it emitted:\n${build.stdout}`);
    }
    expect(existsSync(MAIN)).toBe(true);
  }, 120_000);
  afterEach(async () => {
    for (const r of runs.splice(0)) await stop(r);
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'mentra-main-'));
    dirs.push(d);
    return d;
  }

  it('starts with only PORT and DATA_DIR, prints the generated admin key once and keeps it across restarts', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const first = runMain({ PORT: String(port), DATA_DIR: dataDir });
    runs.push(first);
    const key = await eventually(
      () => /admin API key[^:]*:\s*(\S+)/.exec(first.output())?.[1],
      45_000,
      `admin key in output:\n${first.output()}`,
    );
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
    expect(key).toBe(secrets.adminApiKey);
    expect(statSync(join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(secrets.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.output()).not.toContain(secrets.jwtSecret);

    const health = await eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/health`)).json(),
      10_000,
      'health',
    );
    expect(health).toMatchObject({ status: 'ok' });
    expect((await fetch(`http://127.0.0.1:${port}/api/admin/apps`)).status).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${port}/api/admin/apps`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([]);
    await stop(first);

    // A later boot reads the key back and says where it is, without printing it again.
    const second = runMain({ PORT: String(port), DATA_DIR: dataDir });
    runs.push(second);
    await eventually(
      () => second.output().includes(`read from ${join(dataDir, 'secrets.json')}`),
      45_000,
      `where the admin key is, in output:\n${second.output()}`,
    );
    expect(second.output()).not.toContain(key);
    const again = await fetch(`http://127.0.0.1:${port}/api/admin/apps`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(200);
  }, 120_000);

  it('does not print the admin key when it comes from the environment', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const adminKey = 'env-admin-key-0123456789abcdef';
    const run = runMain({ PORT: String(port), DATA_DIR: dataDir, ADMIN_API_KEY: adminKey });
    runs.push(run);
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 45_000, 'health');
    const ok = await fetch(`http://127.0.0.1:${port}/api/admin/apps`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(ok.status).toBe(200);
    expect(run.output()).not.toContain(adminKey);
  }, 120_000);

  it.each([
    [{ PORT: 'abc' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL/],
    [{ ADMIN_API_KEY: 'short' }, /ADMIN_API_KEY/],
    [{ AUGMENTOS_AUTH_JWT_SECRET: 'same-secret-0123456789', ADMIN_API_KEY: 'same-secret-0123456789' }, /ADMIN_API_KEY/],
  ])(
    'exits non-zero with a clear message for %j',
    async (env, message) => {
      const run = runMain({ DATA_DIR: tempDir(), ...env });
      runs.push(run);
      const code = await exitCode(run, 45_000);
      expect(code, run.output()).not.toBe('timeout');
      expect(code).not.toBe(0);
      const out = run.output();
      expect(out).toMatch(/Invalid configuration/);
      expect(out).toMatch(message);
      expect(out).not.toMatch(/Invalid configuration:\s*Invalid configuration/);
      expect(out).not.toMatch(/\n\s+at /); // a message, not a stack trace
    },
    60_000,
  );

  it('exits non-zero with a clear message when DATA_DIR/secrets.json is damaged', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'secrets.json'), '{ not json');
    const run = runMain({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    runs.push(run);
    const code = await exitCode(run, 45_000);
    expect(code, run.output()).not.toBe('timeout');
    expect(code).not.toBe(0);
    expect(run.output()).toContain('secrets.json');
    expect(run.output()).not.toMatch(/\n\s+at /);
  }, 60_000);
});
