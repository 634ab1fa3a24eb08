import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession, ToolCall } from '@mentra/sdk';
import { connectGlasses, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp, startSdkApp } from './support/sdk-app.js';

/**
 * Apps as their authors publish them: an app_config.json registers unchanged (given packageName and publicUrl),
 * its tools are stored, and an admin tool call reaches the real SDK's `onToolCall` through the app's `/tool`.
 */

/** The app_config.json the Extended Example app publishes, verbatim. */
const EXTENDED_EXAMPLE = JSON.parse(
  readFileSync(new URL('./fixtures/extended-example-app_config.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** An exported config with every field the console writes (URLs left empty the way its export leaves them). */
const FULL_CONFIG = {
  name: 'Weather',
  description: 'Weather on your glasses',
  version: '2.3.0',
  publicUrl: '',
  logoURL: '',
  webviewURL: 'https://weather.example.com/webview',
  appType: 'standard',
  permissions: [{ type: 'LOCATION', description: 'local forecast' }],
  hardwareRequirements: [{ type: 'DISPLAY', level: 'REQUIRED' }],
  settings: [
    {
      type: 'select',
      key: 'units',
      label: 'Units',
      defaultValue: 'metric',
      options: [{ label: 'Metric', value: 'metric' }],
    },
  ],
  tools: [
    {
      id: 'forecast',
      description: 'Tells the forecast',
      activationPhrases: ['what is the weather'],
      parameters: {
        city: { type: 'string', description: 'Which city', required: true },
        days: { type: 'number', description: 'How many days' },
        units: { type: 'string', description: 'Units', enum: ['metric', 'imperial'] },
      },
    },
    { id: 'fail', description: 'Always throws' },
  ],
  previewImages: [{ url: 'https://weather.example.com/shot.png', orientation: 'landscape', order: 0 }],
};

describe('app_config.json registration and tool calls', () => {
  let cloud: TestCloud;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    cloud = await startCloud({ TOOL_CALL_TIMEOUT_MS: '1500' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud.close();
  });

  it("registers the Extended Example app's app_config.json unchanged, with its tools", async () => {
    const res = await cloud.admin('POST', '/api/admin/apps', {
      ...EXTENDED_EXAMPLE,
      packageName: 'com.example.extended',
      publicUrl: 'http://127.0.0.1:7010/',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const got = await cloud.admin('GET', '/api/admin/apps/com.example.extended');
    expect(got.body).toMatchObject({
      packageName: 'com.example.extended',
      name: 'com.example.extended',
      publicUrl: 'http://127.0.0.1:7010',
      description: EXTENDED_EXAMPLE.description,
      permissions: EXTENDED_EXAMPLE.permissions,
      settings: EXTENDED_EXAMPLE.settings,
      tools: EXTENDED_EXAMPLE.tools,
    });
    expect(got.body).not.toHaveProperty('hashedApiKey');
  });

  it('keeps every field of a full exported config (version, hardware, webview URL, preview images)', async () => {
    const res = await cloud.admin('POST', '/api/admin/apps', {
      ...FULL_CONFIG,
      packageName: 'com.example.weather.full',
      publicUrl: 'http://127.0.0.1:7011',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { logoURL: _l, publicUrl: _p, ...kept } = FULL_CONFIG;
    expect(res.body.app).toMatchObject({ ...kept, packageName: 'com.example.weather.full' });
    expect(res.body.app).not.toHaveProperty('logoURL');
    // Tools can be replaced like any other field.
    const patched = await cloud.admin('PATCH', '/api/admin/apps/com.example.weather.full', {
      tools: [{ id: 'only', description: 'The only one' }],
    });
    expect(patched.status).toBe(200);
    expect(patched.body.tools).toEqual([{ id: 'only', description: 'The only one' }]);
  });

  it('refuses malformed tools with the reason', async () => {
    const base = { packageName: 'com.example.badtools', publicUrl: 'http://127.0.0.1:7012' };
    const cases: Array<[unknown[], RegExp]> = [
      [[{ id: 'x', description: 'd', parameters: { a: { type: 'date', description: 'd' } } }], /a.type must be/],
      [
        [{ id: 'x', description: 'd', parameters: { 'a.b': { type: 'string', description: 'd' } } }],
        /not an identifier/,
      ],
      [[{ id: 'x', description: 'd', parameters: [] }], /parameters must be an object/],
      [[{ id: 'x', description: 'd', surprise: true }], /surprise should not exist/],
      [[{ id: 'has space', description: 'd' }], /tool id/],
      [
        [
          { id: 'x', description: 'd' },
          { id: 'x', description: 'e' },
        ],
        /appears twice/,
      ],
    ];
    for (const [tools, reason] of cases) {
      const res = await cloud.admin('POST', '/api/admin/apps', { ...base, tools });
      expect(res.status, JSON.stringify(tools)).toBe(400);
      expect(JSON.stringify(res.body.message)).toMatch(reason);
    }
    expect((await cloud.admin('GET', '/api/admin/apps/com.example.badtools')).status).toBe(404);
  });

  it("calls a declared tool on the real SDK app's /tool and returns what onToolCall answered", async () => {
    const user = 'tools@example.com';
    const calls: ToolCall[] = [];
    let session: AppSession | null = null;
    const { app } = await serveSdkApp(
      cloud,
      { ...FULL_CONFIG, packageName: 'com.example.weather', publicUrl: 'http://127.0.0.1:9' },
      [user],
      (s) => {
        session = s;
      },
      {
        onToolCall: async (call) => {
          calls.push(call);
          if (call.toolId === 'fail') throw new Error('the forecast service is down');
          const p = call.toolParameters;
          return `${p.city}: sunny for ${p.days ?? 1} day(s)${call.activeSession ? ' (shown on your glasses)' : ''}`;
        },
      },
    );
    cleanups.push(() => app.close());
    const path = (tool: string) => `/api/admin/sessions/${user}/apps/com.example.weather/tools/${tool}`;

    const res = await cloud.admin('POST', path('forecast'), { toolParameters: { city: 'Oslo', days: 3 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      toolId: 'forecast',
      packageName: 'com.example.weather',
      userId: user,
      reply: 'Oslo: sunny for 3 day(s)',
      appRunning: false,
    });
    // The SDK's ToolCall body, as its onToolCall saw it.
    expect(calls[0]).toMatchObject({ toolId: 'forecast', toolParameters: { city: 'Oslo', days: 3 }, userId: user });
    expect(Number.isNaN(Date.parse(String(calls[0]!.timestamp)))).toBe(false);

    // With the app running in the user's session, the SDK hands onToolCall that session.
    await connectGlasses(cloud, user, cleanups);
    expect((await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.weather/start`)).status).toBe(201);
    await eventually(() => session, 5000, 'the app session');
    const running = await cloud.admin('POST', path('forecast'), { toolParameters: { city: 'Rome' } });
    expect(running.body).toMatchObject({ reply: 'Rome: sunny for 1 day(s) (shown on your glasses)', appRunning: true });

    // Checked against the declared parameters before the app is bothered.
    const before = calls.length;
    const bad = await cloud.admin('POST', path('forecast'), {
      toolParameters: { days: 'three', units: 'kelvin', extra: true },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('MALFORMED_MESSAGE');
    expect(bad.body.details.problems).toEqual([
      'days must be a number',
      'units must be one of metric, imperial',
      'extra is not a parameter of forecast',
      'city is required',
    ]);
    expect(calls.length).toBe(before);

    const unknown = await cloud.admin('POST', path('nope'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('TOOL_NOT_FOUND');
    const thrown = await cloud.admin('POST', path('fail'));
    expect(thrown.status).toBe(502);
    expect(thrown.body).toMatchObject({ code: 'TOOL_CALL_FAILED', details: { stage: 'ANSWER', status: 500 } });
    expect(thrown.body.message).toMatch(/the forecast service is down/);
    const notInstalled = await cloud.admin(
      'POST',
      `/api/admin/sessions/someone-else@example.com/apps/com.example.weather/tools/forecast`,
      { toolParameters: { city: 'Oslo' } },
    );
    expect(notInstalled.status).toBe(404);
    expect(
      (await cloud.admin('POST', path('forecast'), { toolParameters: { city: 'Oslo' } }, 'wrong-key')).status,
    ).toBe(401);
  });

  it('answers 502 when the app does not answer or is not there', async () => {
    const user = 'tools-down@example.com';
    // An SDK app that never answers its tool calls within TOOL_CALL_TIMEOUT_MS.
    const slow = await startSdkApp('com.example.slowtool', 'k', () => undefined, {
      onToolCall: () => new Promise((r) => setTimeout(() => r('late'), 3000)),
    });
    cleanups.push(() => slow.close());
    await cloud.registerApp(
      { packageName: 'com.example.slowtool', publicUrl: slow.url, tools: [{ id: 't', description: 'd' }] } as never,
      [user],
    );
    const timedOut = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.slowtool/tools/t`);
    expect(timedOut.status).toBe(502);
    expect(timedOut.body).toMatchObject({ code: 'TOOL_CALL_FAILED', details: { stage: 'REQUEST' } });
    expect(timedOut.body.message).toMatch(/no answer within 1500 ms/);

    await cloud.registerApp(
      {
        packageName: 'com.example.gonetool',
        publicUrl: 'http://127.0.0.1:9',
        tools: [{ id: 't', description: 'd' }],
      } as never,
      [user],
    );
    const gone = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.gonetool/tools/t`);
    expect(gone.status).toBe(502);
    expect(gone.body.code).toBe('TOOL_CALL_FAILED');
  });

  it('documents the tool route in Swagger', async () => {
    const doc = (await (await fetch(`${cloud.url}/api/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(doc.paths).toHaveProperty(['/api/admin/sessions/{userId}/apps/{packageName}/tools/{toolId}']);
  });
});
