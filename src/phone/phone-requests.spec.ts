import { Logger } from '@nestjs/common';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppRecord } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { PhoneRequests } from './phone-requests.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { viaBoundary } from '../../test/support/boundary.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

type LedResponse = GlassesInbound<'rgb_led_control_response'>;

const USER = 'user@example.com';

type Sent = Record<string, any>;

function harness() {
  const ctx = new SessionContext({ userId: USER });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const glassesSent = glasses.json;
  const connections = new AppConnections(ctx);
  const appSent: Record<string, Sent[]> = {};
  for (const packageName of ['com.a', 'com.b']) {
    const rt = connections.create({ packageName } as AppRecord);
    const socket = new FakeSocket();
    rt.ws = socket.ws;
    appSent[packageName] = socket.json;
  }
  const phone = new PhoneRequests(ctx, connections);
  return {
    ctx,
    phone,
    glassesSent,
    appSent,
    glassesAway() {
      glasses.readyState = 3;
    },
    led(fields: Record<string, unknown>) {
      return viaBoundary('rgb_led_control', { packageName: 'com.spoofed', ...fields }, (m) => phone.led('com.a', m));
    },
  };
}

describe('PhoneRequests', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  describe('LED', () => {
    it('is forwarded with the sending app as packageName and appId (never the claimed one)', () => {
      const h = harness();
      expect(h.led({ requestId: 'led-1', action: 'on', color: 'blue', ontime: 500, offtime: 0, count: 1 })).toEqual({
        ok: true,
      });
      expect(h.glassesSent).toEqual([
        {
          type: 'rgb_led_control',
          sessionId: USER,
          requestId: 'led-1',
          packageName: 'com.a',
          appId: 'com.a',
          action: 'on',
          color: 'blue',
          ontime: 500,
          offtime: 0,
          count: 1,
          timestamp: new Date(T0).toISOString(),
        },
      ]);
    });

    it('off needs no color; bad timings are dropped rather than forwarded', () => {
      const h = harness();
      expect(h.led({ requestId: 'led-2', action: 'off' })).toEqual({ ok: true });
      expect(h.led({ action: 'on', color: 'red', ontime: -5, offtime: 'long', count: Number.NaN })).toEqual({
        ok: true,
      });
      expect(h.glassesSent[0]).toEqual({
        type: 'rgb_led_control',
        sessionId: USER,
        requestId: 'led-2',
        packageName: 'com.a',
        appId: 'com.a',
        action: 'off',
        timestamp: expect.any(String),
      });
      expect(h.glassesSent[1]).not.toHaveProperty('ontime');
      expect(h.glassesSent[1]).not.toHaveProperty('offtime');
      expect(h.glassesSent[1]).not.toHaveProperty('count');
    });

    it.each(['red', 'green', 'blue', 'orange', 'white'])('accepts the color %s', (color) => {
      const h = harness();
      expect(h.led({ action: 'on', color })).toEqual({ ok: true });
      expect(h.glassesSent[0].color).toBe(color);
    });

    it('an invalid action or color is MALFORMED_MESSAGE and nothing is sent', () => {
      const h = harness();
      for (const fields of [
        { action: 'blink' },
        {},
        { action: 'ON' },
        { action: 'on', color: 'purple' },
        { action: 'on', color: null },
        { action: 'on', color: 3 },
      ]) {
        expect(h.led(fields), JSON.stringify(fields)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      }
      expect(h.glassesSent).toEqual([]);
    });

    it("the glasses' response goes to the app that asked, by requestId, once", () => {
      const h = harness();
      h.led({ requestId: 'led-a', action: 'on', color: 'red' });
      viaBoundary('rgb_led_control', { requestId: 'led-b', action: 'off' }, (m) => h.phone.led('com.b', m));
      const answer = { type: 'rgb_led_control_response', requestId: 'led-b', success: false, error: 'busy' };
      h.phone.handleLedResponse(answer as LedResponse);
      h.phone.handleLedResponse(answer as LedResponse);
      h.phone.handleLedResponse({
        type: 'rgb_led_control_response',
        requestId: 'nobody',
        success: true,
      } as LedResponse);
      expect(h.appSent['com.a']).toEqual([]);
      expect(h.appSent['com.b']).toEqual([
        {
          type: 'rgb_led_control_response',
          requestId: 'led-b',
          success: false,
          error: 'busy',
          timestamp: new Date(T0).toISOString(),
        },
      ]);
    });

    it('keeps at most 64 unanswered requests and forgets them after 30 s', () => {
      const h = harness();
      for (let i = 0; i < 65; i++) h.led({ requestId: `led-${i}`, action: 'off' });
      const answer = (requestId: string) =>
        h.phone.handleLedResponse({ type: 'rgb_led_control_response', requestId, success: true } as LedResponse);
      answer('led-0');
      answer('led-1');
      expect(h.appSent['com.a']!.map((m) => m.requestId)).toEqual(['led-1']);
      vi.advanceTimersByTime(30_000);
      h.led({ requestId: 'late', action: 'off' });
      answer('led-2');
      answer('late');
      expect(h.appSent['com.a']!.map((m) => m.requestId)).toEqual(['led-1', 'late']);
    });

    it('with the glasses away: GLASSES_NOT_CONNECTED at once', () => {
      const h = harness();
      h.glassesAway();
      expect(h.led({ action: 'on', color: 'green' })).toEqual({
        ok: false,
        code: 'GLASSES_NOT_CONNECTED',
        message: expect.stringMatching(/cloud → phone/),
      });
      expect(h.glassesSent).toEqual([]);
    });
  });

  describe('Wi-Fi setup', () => {
    it('is forwarded as show_wifi_setup with the reason and the app', () => {
      const h = harness();
      expect(
        viaBoundary('request_wifi_setup', { packageName: 'com.spoofed', reason: 'needs wifi' }, (m) =>
          h.phone.wifiSetup('com.a', m),
        ),
      ).toEqual({ ok: true });
      expect(h.glassesSent).toEqual([
        {
          type: 'show_wifi_setup',
          reason: 'needs wifi',
          appPackageName: 'com.a',
          timestamp: new Date(T0).toISOString(),
        },
      ]);
    });

    it('a long reason is cut to 500 characters; a missing one is left out', () => {
      const h = harness();
      viaBoundary('request_wifi_setup', { reason: 'r'.repeat(2_000) }, (m) => h.phone.wifiSetup('com.a', m));
      viaBoundary('request_wifi_setup', {}, (m) => h.phone.wifiSetup('com.a', m));
      expect(h.glassesSent[0].reason).toHaveLength(500);
      expect(h.glassesSent[1]).not.toHaveProperty('reason');
    });

    it('with the glasses away: GLASSES_NOT_CONNECTED', () => {
      const h = harness();
      h.glassesAway();
      expect(viaBoundary('request_wifi_setup', {}, (m) => h.phone.wifiSetup('com.a', m))).toMatchObject({
        ok: false,
        code: 'GLASSES_NOT_CONNECTED',
      });
      expect(h.glassesSent).toEqual([]);
    });
  });

  it('dispose leaves no timers', async () => {
    const h = harness();
    h.led({ action: 'on', color: 'green' });
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
