import { describe, expect, expectTypeOf, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { AppConfig } from '../config/config.types.js';
import { GlassesMessageHandler, type GlassesHandlers } from '../glasses-ws/glasses-message.handler.js';
import type { UserSession } from '../session/user-session.js';
import * as simulator from '../simulator/glasses-protocol.types.js';
import { requiredPermission } from '../subscriptions/stream-types.js';
import {
  GLASSES_INBOUND,
  GLASSES_INBOUND_TYPES,
  type GlassesHandledType,
  type GlassesInboundType,
} from './glasses-inbound.js';

/** A session whose managers record every call; `relay.relay` is what the table's `relay` column drives. */
function recordingSession() {
  const calls: string[] = [];
  const manager = (name: string) =>
    new Proxy(
      {},
      {
        get:
          (_t, method: string) =>
          (...args: unknown[]) => {
            calls.push(`${name}.${method}${method === 'relay' ? `:${String(args[0])}` : ''}`);
            if (method === 'startApp' || method === 'stopApp') return Promise.resolve({ ok: true });
            return undefined;
          },
      },
    );
  const session = new Proxy(
    { userId: 'u@example.com', built: (name: string) => manager(name) },
    { get: (t, k: string) => (k in t ? t[k as keyof typeof t] : manager(k)) },
  );
  return { session: session as unknown as UserSession, calls };
}

function fakeSocket() {
  const sent: string[] = [];
  return { ws: { readyState: 1, send: (t: string) => sent.push(t) } as unknown as WebSocket, sent };
}

const handler = new GlassesMessageHandler({ maxMessageBytes: 65_536 } as AppConfig);
const frame = (msg: object) => Buffer.from(JSON.stringify(msg));
const valid: Record<string, object> = {
  start_app: { packageName: 'com.example' },
  stop_app: { packageName: 'com.example' },
  audio_play_response: { requestId: 'r1' },
  rgb_led_control_response: { requestId: 'r1' },
  photo_response: { requestId: 'r1' },
  keep_alive_ack: { ackId: 'a1' },
};

describe('glasses protocol table', () => {
  it('the simulator speaks the same glasses → cloud types as the server (compile time and run time)', () => {
    expectTypeOf<simulator.GlassesToCloudType>().toEqualTypeOf<GlassesInboundType>();
    expect(simulator.GLASSES_INBOUND_TYPES).toEqual(GLASSES_INBOUND_TYPES);
    expect(GLASSES_INBOUND_TYPES).toContain('phone_subscription_update');
  });

  it('the handler table has a handler for exactly the rows marked handled', () => {
    const handlers = (handler as unknown as { handlers: GlassesHandlers }).handlers;
    const handled = GLASSES_INBOUND_TYPES.filter((t) => GLASSES_INBOUND[t].handled);
    expect(Object.keys(handlers).sort()).toEqual(handled.sort());
    expectTypeOf<keyof GlassesHandlers>().toEqualTypeOf<GlassesHandledType>();
  });

  it.each(GLASSES_INBOUND_TYPES)('%s is relayed when its row says so and never answered as unknown', (type) => {
    const { session, calls } = recordingSession();
    const { ws, sent } = fakeSocket();
    handler.handle(session, ws, frame({ type, ...valid[type] }), false);
    expect(sent.filter((s) => s.includes('UNKNOWN_MESSAGE_TYPE') || s.includes('INTERNAL_ERROR'))).toEqual([]);
    expect(calls.includes(`relay.relay:${type}`)).toBe(GLASSES_INBOUND[type].relay);
    if (GLASSES_INBOUND[type].handled && type !== 'ping') expect(calls.length).toBeGreaterThan(0);
  });

  it('a type outside the table gets UNKNOWN_MESSAGE_TYPE and reaches no manager', () => {
    const { session, calls } = recordingSession();
    const { ws, sent } = fakeSocket();
    handler.handle(session, ws, frame({ type: 'not_a_glasses_event' }), false);
    expect(calls).toEqual([]);
    expect(JSON.parse(sent[0]!)).toMatchObject({ type: 'connection_error', code: 'UNKNOWN_MESSAGE_TYPE' });
  });

  it('a row with a failing check and an error text answers MALFORMED_MESSAGE; a relayed one still relays', () => {
    const { session, calls } = recordingSession();
    const { ws, sent } = fakeSocket();
    handler.handle(session, ws, frame({ type: 'start_app' }), false);
    expect(JSON.parse(sent[0]!)).toMatchObject({
      code: 'MALFORMED_MESSAGE',
      message: 'start_app needs a string packageName',
    });
    handler.handle(session, ws, frame({ type: 'rgb_led_control_response', requestId: 7 }), false);
    expect(calls).toEqual(['relay.relay:rgb_led_control_response']);
  });

  it("each glasses stream's permission comes from its row", () => {
    for (const type of GLASSES_INBOUND_TYPES)
      expect(requiredPermission(type), type).toBe(GLASSES_INBOUND[type].permission);
    expect(requiredPermission('location_stream')).toBe('LOCATION');
    expect(requiredPermission('transcription:en-US')).toBe('MICROPHONE');
  });
});
