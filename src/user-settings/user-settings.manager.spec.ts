import { Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import { DeviceManager } from '../device/device-manager.js';
import type { UserRecord, UserRepository } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { appRecord } from '../../test/support/app-record.js';
import { UserSettingsManager } from './user-settings.manager.js';

const USER = 'user@example.com';

function harness(stored: Record<string, unknown> | null) {
  const ctx = new SessionContext({ userId: USER });
  const connections = new AppConnections(ctx);
  const device = new DeviceManager(ctx, connections);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const users = {
    findById: async (): Promise<UserRecord | null> => {
      await gate;
      return stored === null ? null : ({ userId: USER, userSettings: stored } as unknown as UserRecord);
    },
  } as unknown as UserRepository;
  const manager = new UserSettingsManager(ctx, device, connections, users);
  const app = (pkg: string): Array<Record<string, any>> => {
    const rt = connections.create(appRecord(pkg));
    rt.state = 'running';
    const sent: Array<Record<string, any>> = [];
    rt.ws = { readyState: 1, send: (s: string) => sent.push(JSON.parse(s)) } as unknown as WebSocket;
    return sent;
  };
  const loaded = async () => {
    release();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { ctx, device, manager, app, loaded };
}

describe('UserSettingsManager', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('loads the stored settings and their default wearable when the session starts, telling no app', async () => {
    const h = harness({ metric_system: true, default_wearable: 'Mentra Live' });
    const a = h.app('com.a');
    await h.loaded();
    expect(h.manager.current).toEqual({ metric_system: true, default_wearable: 'Mentra Live' });
    expect(h.manager.mentraosSettings).toMatchObject({ metricSystemEnabled: true });
    expect(h.device.modelName).toBe('Mentra Live');
    expect(a.filter((m) => m.type === 'augmentos_settings_update')).toEqual([]);
  });

  it('a change apps see goes to every connected app as the whole object, under its own session id', async () => {
    const h = harness({});
    await h.loaded();
    const a = h.app('com.a');
    const b = h.app('com.b');
    h.manager.apply({ brightness: 30 }, ['brightness']);
    for (const [sent, pkg] of [
      [a, 'com.a'],
      [b, 'com.b'],
    ] as const) {
      expect(sent).toEqual([
        {
          type: 'augmentos_settings_update',
          sessionId: `${USER}-${pkg}`,
          settings: expect.objectContaining({ brightness: 30, metricSystemEnabled: false, userTimezone: null }),
          timestamp: expect.any(String),
        },
      ]);
    }
  });

  it('a change of keys apps do not see sends nothing', async () => {
    const h = harness({});
    await h.loaded();
    const a = h.app('com.a');
    h.manager.apply({ theme: 'dark' }, ['theme']);
    h.manager.apply({ theme: 'dark', brightness: 50 }, ['brightness']); // the default already
    expect(a).toEqual([]);
  });

  it('default_wearable follows changes, and a slow initial load never overwrites a newer change', async () => {
    const h = harness({ default_wearable: 'Mentra Live', metric_system: false });
    h.manager.apply({ default_wearable: 'Vuzix Z100', metric_system: true }, ['default_wearable', 'metric_system']);
    await h.loaded();
    expect(h.device.modelName).toBe('Vuzix Z100');
    expect(h.manager.current).toEqual({ default_wearable: 'Vuzix Z100', metric_system: true });
    h.manager.apply({ metric_system: true }, ['default_wearable']);
    expect(h.device.modelName).toBeNull();
  });

  it('does nothing once the session is disposed', async () => {
    const h = harness({});
    await h.loaded();
    const a = h.app('com.a');
    await h.ctx.dispose();
    h.manager.apply({ brightness: 10 }, ['brightness']);
    expect(a).toEqual([]);
  });
});
