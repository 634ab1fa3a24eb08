import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadRequestException } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudError } from '../common/cloud-error.js';
import type { AppConfig } from '../config/config.types.js';
import type {
  AppRecord,
  AppRepository,
  SettingValue,
  UserRecord,
  UserRepository,
} from '../persistence/persistence.types.js';
import type { SessionRegistry } from '../session/session-registry.js';
import { AppSettingsService } from './app-settings.service.js';

const SCHEMA = [
  { type: 'group', title: 'General' },
  { type: 'toggle', key: 'enabled', defaultValue: true },
  { type: 'select', key: 'mode', defaultValue: 'fast' },
];

function app(packageName: string, publicUrl = 'http://127.0.0.1:9'): AppRecord {
  return {
    packageName,
    name: packageName,
    publicUrl,
    appType: 'standard',
    permissions: [],
    hardwareRequirements: [],
    settings: SCHEMA,
    hashedApiKey: 'a'.repeat(64),
    createdAt: new Date(),
    updatedAt: new Date(),
  };
}

function harness(opts: { installed?: string[]; running?: string[]; publicUrl?: string } = {}) {
  const apps = new Map(
    [app('com.example.notes', opts.publicUrl), app('system.augmentos.dashboard')].map((a) => [a.packageName, a]),
  );
  let user: UserRecord = {
    userId: 'alice@example.com',
    installedApps: (opts.installed ?? ['com.example.notes']).map((packageName) => ({
      packageName,
      installedDate: new Date(),
    })),
    runningApps: [],
    appSettings: [],
    userSettings: {},
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  const sent: Array<{ packageName: string; message: Record<string, unknown> }> = [];
  const appRepo = { findByPackageName: async (p: string) => apps.get(p) ?? null } as unknown as AppRepository;
  const userRepo = {
    findById: async (id: string) => (id === user.userId ? structuredClone(user) : null),
    setAppSettings: async (_id: string, packageName: string, settings: SettingValue[]) => {
      user = {
        ...user,
        appSettings: [...user.appSettings.filter((s) => s.packageName !== packageName), { packageName, settings }],
      };
      return structuredClone(user);
    },
  } as unknown as UserRepository;
  const registry = {
    get: (id: string) =>
      id === 'alice@example.com'
        ? {
            connections: {
              isRunning: (p: string) => (opts.running ?? []).includes(p),
              sendJson: (packageName: string, message: Record<string, unknown>) => {
                if (!(opts.running ?? []).includes(packageName)) return false;
                sent.push({ packageName, message });
                return true;
              },
            },
          }
        : undefined,
  } as unknown as SessionRegistry;
  const config = { systemDashboardPackage: 'system.augmentos.dashboard' } as AppConfig;
  return { service: new AppSettingsService(appRepo, userRepo, config, registry), sent, stored: () => user.appSettings };
}

const values = (settings: Array<{ key: string; value: unknown }>) => settings.map((s) => [s.key, s.value]);

describe('AppSettingsService', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('reads schema defaults for a user without values, groups left out', async () => {
    const { service } = harness();
    const result = await service.read('alice@example.com', 'com.example.notes');
    expect(values(result.settings)).toEqual([
      ['enabled', true],
      ['mode', 'fast'],
    ]);
  });

  it('replace stores exactly the given values; merge keeps the others; both push settings_update to a running app', async () => {
    const { service, sent, stored } = harness({ running: ['com.example.notes'] });
    const replaced = await service.update('alice@example.com', 'com.example.notes', [{ key: 'mode', value: 'slow' }], {
      mode: 'replace',
      notifyAppServer: false,
    });
    expect(replaced.delivered).toBe(true);
    expect(values(replaced.settings)).toEqual([
      ['enabled', true],
      ['mode', 'slow'],
    ]);
    const merged = await service.update('alice@example.com', 'com.example.notes', [{ key: 'enabled', value: false }], {
      mode: 'merge',
      notifyAppServer: false,
    });
    expect(values(merged.settings)).toEqual([
      ['enabled', false],
      ['mode', 'slow'],
    ]);
    await service.update('alice@example.com', 'com.example.notes', [{ key: 'enabled', value: true }], {
      mode: 'replace',
      notifyAppServer: false,
    });
    expect(stored()).toEqual([{ packageName: 'com.example.notes', settings: [{ key: 'enabled', value: true }] }]);

    expect(sent).toHaveLength(3);
    expect(sent[0]!.message).toMatchObject({
      type: 'settings_update',
      packageName: 'com.example.notes',
      sessionId: 'alice@example.com-com.example.notes',
      settings: replaced.settings,
    });
  });

  it('is not delivered when the app is not running, but still stored', async () => {
    const { service, sent, stored } = harness();
    const result = await service.update('alice@example.com', 'com.example.notes', [{ key: 'mode', value: 'slow' }], {
      mode: 'replace',
      notifyAppServer: false,
    });
    expect(result.delivered).toBe(false);
    expect(sent).toEqual([]);
    expect(stored()).toHaveLength(1);
  });

  it('refuses unknown keys, missing values and unstorable values with 400, storing nothing', async () => {
    const { service, stored } = harness();
    for (const bad of [
      [{ key: 'nope', value: 1 }],
      [{ key: 'mode', value: undefined }],
      [{ key: 'mode', value: { $where: 'x' } }],
      [{ key: 'mode', value: 'x'.repeat(20_000) }],
    ]) {
      await expect(
        service.update('alice@example.com', 'com.example.notes', bad, { mode: 'merge', notifyAppServer: false }),
      ).rejects.toBeInstanceOf(BadRequestException);
    }
    expect(stored()).toEqual([]);
  });

  it('404s an unknown app and an app the user has neither installed nor running', async () => {
    const { service } = harness({ installed: [] });
    await expect(service.read('alice@example.com', 'com.example.none')).rejects.toMatchObject({
      code: 'APP_NOT_FOUND',
    });
    await expect(service.read('alice@example.com', 'com.example.notes')).rejects.toBeInstanceOf(CloudError);
    await expect(service.read('nobody@example.com', 'com.example.notes')).rejects.toMatchObject({
      code: 'APP_NOT_FOUND',
    });
    const running = harness({ installed: [], running: ['system.augmentos.dashboard'] });
    // The legacy dashboard name stands for the system dashboard, which runs without being installed.
    expect((await running.service.read('alice@example.com', 'com.augmentos.dashboard')).packageName).toBe(
      'system.augmentos.dashboard',
    );
  });

  it('POSTs {userIdForSettings, settings} to the app server when asked, without waiting for it', async () => {
    const received: unknown[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ url: req.url, body: JSON.parse(body) as unknown });
        res.setHeader('content-type', 'application/json');
        res.end('{"status":"success"}');
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const { service } = harness({ publicUrl: `http://127.0.0.1:${port}/` });
    const result = await service.update('alice@example.com', 'com.example.notes', [{ key: 'mode', value: 'slow' }], {
      mode: 'merge',
      notifyAppServer: true,
    });
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual([
      { url: '/settings', body: { userIdForSettings: 'alice@example.com', settings: result.settings } },
    ]);
  });

  it('an unreachable app server does not fail the change', async () => {
    const { service } = harness({ publicUrl: 'http://127.0.0.1:9' });
    await expect(
      service.update('alice@example.com', 'com.example.notes', [{ key: 'mode', value: 'slow' }], {
        mode: 'merge',
        notifyAppServer: true,
      }),
    ).resolves.toMatchObject({ packageName: 'com.example.notes' });
  });
});
