import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { AppMessagingService } from '../app-messaging/app-messaging.service.js';
import { AppMessageHandler, type BoundApp } from '../app-ws/app-message.handler.js';
import type { AppConfig } from '../config/config.types.js';
import { APP_INBOUND, APP_INBOUND_TYPES } from './app-inbound.js';
import { validAppMessage } from '../../test/support/app-messages.js';

/** A bound app whose session's managers record each call and answer as a success. */
function bound() {
  const calls: string[] = [];
  const ok = { ok: true, newlyRejected: [], newlyOverLimit: [], applied: false };
  const manager = (name: string) =>
    new Proxy({}, { get: (_t, method: string) => () => (calls.push(`${name}.${method}`), ok) });
  // lazy managers (session.built / session.use) answer as already built
  const lazy = { built: (name: string) => manager(name), use: (name: string) => Promise.resolve(manager(name)) };
  const session = new Proxy(lazy, { get: (t, k: string) => (k in t ? t[k as keyof typeof t] : manager(k)) });
  return { app: { session, packageName: 'com.example' } as unknown as BoundApp, calls };
}

function fakeSocket() {
  const sent: Array<{ type: string; code?: string }> = [];
  const ws = { readyState: 1, send: (t: string) => sent.push(JSON.parse(t)) } as unknown as WebSocket;
  return { ws, sent };
}

const messaging = { handle: () => Promise.resolve({ ok: true }) } as unknown as AppMessagingService;
const handler = new AppMessageHandler({ maxLanguageStreamsPerSession: 4 } as AppConfig, messaging);

describe('app protocol table', () => {
  it.each(APP_INBOUND_TYPES)('%s has a case in the app handler (never answered as unknown)', (type) => {
    const { app, calls } = bound();
    const { ws, sent } = fakeSocket();
    handler.handle(app, ws, validAppMessage(type));
    expect(sent.filter((m) => m.code === 'UNKNOWN_MESSAGE_TYPE')).toEqual([]);
    const owner = APP_INBOUND[type].owner;
    if (owner !== 'gateway' && owner !== 'messaging') expect(calls.some((c) => c.startsWith(`${owner}.`))).toBe(true);
  });

  it('a type outside the table gets UNKNOWN_MESSAGE_TYPE and reaches no manager', () => {
    const { app, calls } = bound();
    const { ws, sent } = fakeSocket();
    handler.handle(app, ws, { type: 'not_an_app_message' });
    expect(calls).toEqual([]);
    expect(sent).toMatchObject([{ type: 'tpa_connection_error', code: 'UNKNOWN_MESSAGE_TYPE' }]);
  });
});
