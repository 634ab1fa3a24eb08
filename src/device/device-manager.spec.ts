import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppRecord } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { capabilitiesFor } from './capability-profiles.js';
import { DeviceManager } from './device-manager.js';
import { appRecord as fixtureApp } from '../../test/support/app-record.js';
import { viaGlassesBoundary } from '../../test/support/boundary.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const USER = 'user@example.com';

type Sent = Record<string, any>;

const appRecord = (packageName: string): AppRecord => fixtureApp(packageName);

function harness() {
  const ctx = new SessionContext({ userId: USER });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const glassesSent = glasses.json;
  const connections = new AppConnections(ctx);
  const device = new DeviceManager(ctx, connections);
  const models: (string | null)[] = [];
  ctx.on('modelChanged', ({ modelName }) => models.push(modelName));
  return {
    ctx,
    device,
    glassesSent,
    models,
    app(pkg: string): Sent[] {
      const rt = connections.create(appRecord(pkg));
      rt.state = 'running';
      const socket = new FakeSocket();
      rt.ws = socket.ws;
      const sent = socket.json;
      return sent;
    },
    connState(status: string, modelName?: unknown, wifi?: unknown) {
      viaGlassesBoundary(
        {
          type: 'glasses_connection_state',
          status,
          modelName,
          ...(wifi !== undefined ? { wifi } : {}),
        },
        (m) => device.handleConnectionState(m),
      );
    },
  };
}

const ofType = (sent: Sent[], type: string) => sent.filter((m) => m.type === type);

describe('DeviceManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  it('starts with no model, no capabilities, not connected', () => {
    const h = harness();
    expect(h.device.modelName).toBeNull();
    expect(h.device.capabilities).toBeNull();
    expect(h.device.isKnownModel).toBe(false);
    expect(h.device.snapshot()).toEqual({ connected: false, modelName: null });
  });

  describe('applyState', () => {
    it('a new model: capabilities_update (with the profile) and device_state_update with the changed fields, to every app', () => {
      const h = harness();
      const a = h.app('com.a');
      const b = h.app('com.b');
      const changed = h.device.applyState({ connected: true, modelName: 'Mentra Live' });
      expect(changed).toEqual({ connected: true, modelName: 'Mentra Live' });
      for (const sent of [a, b]) {
        expect(sent).toEqual([
          {
            type: 'capabilities_update',
            capabilities: capabilitiesFor('Mentra Live').capabilities,
            modelName: 'Mentra Live',
            timestamp: new Date(T0).toISOString(),
          },
          {
            type: 'device_state_update',
            state: { connected: true, modelName: 'Mentra Live' },
            fullSnapshot: false,
            timestamp: new Date(T0).toISOString(),
          },
        ]);
      }
      expect(h.device.capabilities?.modelName).toBe('Mentra Live');
      expect(h.device.isKnownModel).toBe(true);
      expect(h.models).toEqual(['Mentra Live']);
      expect(h.glassesSent).toEqual([]);
    });

    it('only changed fields go in device_state_update, and no capabilities_update without a model change', () => {
      const h = harness();
      const a = h.app('com.a');
      h.device.applyState({ connected: true, modelName: 'Even Realities G1', wifiConnected: false });
      a.length = 0;
      h.device.applyState({ connected: true, modelName: 'Even Realities G1', wifiConnected: true, wifiSsid: 'home' });
      expect(a).toEqual([
        {
          type: 'device_state_update',
          state: { wifiConnected: true, wifiSsid: 'home' },
          fullSnapshot: false,
          timestamp: expect.any(String),
        },
      ]);
      expect(h.models).toEqual(['Even Realities G1']);
    });

    it('nothing changed: nothing sent, no event', () => {
      const h = harness();
      const a = h.app('com.a');
      h.device.applyState({ connected: true, modelName: 'Vuzix Z100' });
      a.length = 0;
      expect(h.device.applyState({ connected: true, modelName: 'Vuzix Z100' })).toEqual({});
      expect(h.device.applyState({})).toEqual({});
      expect(h.device.applyState({ wifiConnected: undefined })).toEqual({});
      expect(a).toEqual([]);
      expect(h.models).toEqual(['Vuzix Z100']);
    });

    it('a model change: capabilities_update with the new profile', () => {
      const h = harness();
      const a = h.app('com.a');
      h.device.applyState({ connected: true, modelName: 'Vuzix Z100' });
      a.length = 0;
      h.device.applyState({ modelName: 'Mentra Live' });
      expect(ofType(a, 'capabilities_update')).toEqual([
        expect.objectContaining({
          modelName: 'Mentra Live',
          capabilities: expect.objectContaining({ modelName: 'Mentra Live', hasCamera: true, hasDisplay: false }),
        }),
      ]);
      expect(ofType(a, 'device_state_update')).toEqual([
        expect.objectContaining({ state: { modelName: 'Mentra Live' }, fullSnapshot: false }),
      ]);
      expect(h.models).toEqual(['Vuzix Z100', 'Mentra Live']);
    });

    it('an unknown model: the fallback profile under its name, known:false, told to apps', () => {
      const h = harness();
      const a = h.app('com.a');
      h.device.applyState({ connected: true, modelName: 'Mentra Nex' });
      expect(h.device.isKnownModel).toBe(false);
      expect(h.device.capabilities).toEqual(capabilitiesFor('Mentra Nex').capabilities);
      expect(h.device.capabilities).toMatchObject({ modelName: 'Mentra Nex', hasDisplay: true, hasMicrophone: true });
      expect(ofType(a, 'capabilities_update')).toEqual([
        expect.objectContaining({
          modelName: 'Mentra Nex',
          capabilities: expect.objectContaining({ modelName: 'Mentra Nex' }),
        }),
      ]);
    });

    it('updates the snapshot timestamp when something changed', () => {
      const h = harness();
      h.device.applyState({ connected: true, modelName: 'NIMO' });
      expect(h.device.snapshot().timestamp).toBe(new Date(T0).toISOString());
      vi.advanceTimersByTime(5_000);
      h.device.applyState({ connected: true, modelName: 'NIMO' });
      expect(h.device.snapshot().timestamp).toBe(new Date(T0).toISOString());
    });
  });

  describe('glasses_connection_state', () => {
    it('CONNECTED with a model sets it, with the wifi state', () => {
      const h = harness();
      const a = h.app('com.a');
      h.connState('CONNECTED', 'Mentra Live', { connected: true, ssid: 'office' });
      expect(h.device.snapshot()).toMatchObject({
        connected: true,
        modelName: 'Mentra Live',
        wifiConnected: true,
        wifiSsid: 'office',
      });
      expect(ofType(a, 'device_state_update')[0].state).toEqual({
        connected: true,
        modelName: 'Mentra Live',
        wifiConnected: true,
        wifiSsid: 'office',
      });
    });

    it('RECONNECTED counts as connected; the status is case-insensitive', () => {
      const h = harness();
      h.connState('reconnected', 'Vuzix Z100');
      expect(h.device.snapshot()).toMatchObject({ connected: true, modelName: 'Vuzix Z100' });
    });

    it('repeated identical CONNECTED events send nothing more (no device-state storm)', () => {
      const h = harness();
      const a = h.app('com.a');
      h.connState('CONNECTED', 'Even Realities G1');
      const after = a.length;
      for (let i = 0; i < 5; i++) h.connState('CONNECTED', 'Even Realities G1');
      expect(a).toHaveLength(after);
      expect(h.models).toEqual(['Even Realities G1']);
    });

    it('DISCONNECTED clears the model and the capabilities; apps get device_state_update only', () => {
      const h = harness();
      const a = h.app('com.a');
      h.connState('CONNECTED', 'Even Realities G1');
      a.length = 0;
      h.connState('DISCONNECTED', 'Even Realities G1');
      expect(h.device.modelName).toBeNull();
      expect(h.device.capabilities).toBeNull();
      expect(h.device.isKnownModel).toBe(false);
      expect(h.device.snapshot()).toMatchObject({ connected: false, modelName: null });
      expect(h.models).toEqual(['Even Realities G1', null]);
      expect(a).toEqual([
        {
          type: 'device_state_update',
          state: { connected: false, modelName: null },
          fullSnapshot: false,
          timestamp: expect.any(String),
        },
      ]);
      // Back again: the model and its capabilities are told anew.
      h.connState('CONNECTED', 'Even Realities G1');
      expect(ofType(a, 'capabilities_update')).toEqual([expect.objectContaining({ modelName: 'Even Realities G1' })]);
    });

    it('a missing, empty or oversized model name means no model', () => {
      const h = harness();
      for (const name of [undefined, '', 42, 'x'.repeat(129)]) {
        h.connState('CONNECTED', name);
        expect(h.device.modelName).toBeNull();
      }
      expect(h.device.snapshot().connected).toBe(true);
      expect(h.models).toEqual([]);
    });

    it('malformed wifi fields are ignored', () => {
      const h = harness();
      h.connState('CONNECTED', 'Mentra Live', { connected: 'yes', ssid: 7 });
      expect(h.device.snapshot()).not.toHaveProperty('wifiConnected');
      expect(h.device.snapshot()).not.toHaveProperty('wifiSsid');
    });

    it('a model name that collides with an Object.prototype key is just an unknown model', () => {
      const h = harness();
      for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        expect(() => h.connState('CONNECTED', name)).not.toThrow();
        expect(h.device.modelName).toBe(name);
        expect(h.device.isKnownModel).toBe(false);
        expect(h.device.capabilities).toMatchObject({ modelName: name, hasDisplay: true });
      }
    });
  });

  describe('default wearable', () => {
    it('sets the model and its capabilities while the glasses have reported none, and apps are told', () => {
      const h = harness();
      const a = h.app('com.a');
      h.device.setDefaultModel('Mentra Live');
      expect(h.device.modelName).toBe('Mentra Live');
      expect(h.device.capabilities).toEqual(capabilitiesFor('Mentra Live').capabilities);
      expect(h.device.isKnownModel).toBe(true);
      expect(ofType(a, 'capabilities_update')).toEqual([
        expect.objectContaining({
          modelName: 'Mentra Live',
          capabilities: expect.objectContaining({ hasCamera: true }),
        }),
      ]);
      expect(h.models).toEqual(['Mentra Live']);
    });

    it('a model the glasses report wins over it, and it stands in again once they disconnect', () => {
      const h = harness();
      h.device.setDefaultModel('Mentra Live');
      h.connState('CONNECTED', 'Even Realities G1');
      expect(h.device.modelName).toBe('Even Realities G1');
      h.device.setDefaultModel('Vuzix Z100');
      expect(h.device.modelName).toBe('Even Realities G1');
      h.connState('DISCONNECTED');
      expect(h.device.snapshot()).toMatchObject({ connected: false, modelName: 'Vuzix Z100' });
      expect(h.device.capabilities?.modelName).toBe('Vuzix Z100');
    });

    it('removing it clears a model it had set, and a phone report without a model keeps it', () => {
      const h = harness();
      h.device.setDefaultModel('Mentra Live');
      h.device.applyReported({ wifiConnected: true });
      expect(h.device.modelName).toBe('Mentra Live');
      h.device.setDefaultModel(null);
      expect(h.device.modelName).toBeNull();
      expect(h.device.capabilities).toBeNull();
    });
  });

  describe('battery', () => {
    it('changes are kept and told to apps as device_state_update; unchanged ones send nothing', () => {
      const h = harness();
      const a = h.app('com.a');
      viaGlassesBoundary({ type: 'glasses_battery_update', level: 80, charging: false }, (m) =>
        h.device.handleBattery(m),
      );
      expect(a).toEqual([
        {
          type: 'device_state_update',
          state: { batteryLevel: 80, charging: false },
          fullSnapshot: false,
          timestamp: expect.any(String),
        },
      ]);
      viaGlassesBoundary({ type: 'glasses_battery_update', level: 80, charging: false }, (m) =>
        h.device.handleBattery(m),
      );
      viaGlassesBoundary({ type: 'glasses_battery_update', level: 'high' }, (m) => h.device.handleBattery(m));
      expect(a).toHaveLength(1);
      viaGlassesBoundary({ type: 'glasses_battery_update', level: 79, charging: false }, (m) =>
        h.device.handleBattery(m),
      );
      expect(a.at(-1)).toMatchObject({ state: { batteryLevel: 79 } });
      expect(h.device.snapshot()).toMatchObject({ batteryLevel: 79, charging: false });
      expect(ofType(a, 'capabilities_update')).toEqual([]);
    });
  });

  describe('sendSnapshot', () => {
    it('sends the whole state to that app only, with fullSnapshot:true', () => {
      const h = harness();
      const a = h.app('com.a');
      const b = h.app('com.b');
      h.connState('CONNECTED', 'Mentra Live', { connected: true, ssid: 'home' });
      viaGlassesBoundary({ type: 'glasses_battery_update', level: 55, charging: true }, (m) =>
        h.device.handleBattery(m),
      );
      a.length = 0;
      b.length = 0;
      h.device.sendSnapshot('com.a');
      expect(a).toEqual([
        {
          type: 'device_state_update',
          state: {
            connected: true,
            modelName: 'Mentra Live',
            wifiConnected: true,
            wifiSsid: 'home',
            batteryLevel: 55,
            charging: true,
            timestamp: new Date(T0).toISOString(),
          },
          fullSnapshot: true,
          timestamp: expect.any(String),
        },
      ]);
      expect(b).toEqual([]);
    });

    it('with no glasses known yet, the snapshot says so', () => {
      const h = harness();
      const a = h.app('com.a');
      h.device.sendSnapshot('com.a');
      expect(a).toEqual([
        expect.objectContaining({
          type: 'device_state_update',
          state: { connected: false, modelName: null },
          fullSnapshot: true,
        }),
      ]);
    });

    it('the snapshot is a copy', () => {
      const h = harness();
      const snap = h.device.snapshot();
      snap.modelName = 'tampered';
      expect(h.device.modelName).toBeNull();
    });
  });

  it('dispose leaves no timers', async () => {
    const h = harness();
    h.app('com.a');
    h.connState('CONNECTED', 'Mentra Live');
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
