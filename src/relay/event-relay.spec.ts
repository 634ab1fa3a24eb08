import { describe, expect, it } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import type { AppPermission } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { EventRelay } from './event-relay.js';
import { appRecord } from '../../test/support/app-record.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';
import type { SubscriptionEntry } from '../protocol/app.types.js';

function harness() {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const connections = new AppConnections(ctx);
  const subs = new SubscriptionManager(ctx, {
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
  } as AppConfig);
  const relay = new EventRelay(ctx, subs, connections);
  const app = (pkg: string, streams: SubscriptionEntry[], permissions: AppPermission[] = []) => {
    const rt = connections.create(appRecord(pkg, { permissions }));
    rt.state = 'running';
    const socket = new FakeSocket();
    rt.ws = socket.ws;
    subs.registerApp(pkg, permissions);
    subs.update(pkg, streams);
    return socket;
  };
  return { relay, app };
}

describe('EventRelay', () => {
  useFakeClock();

  it("wraps the glasses' own JSON unchanged as the data of a data_stream to each subscriber", () => {
    const h = harness();
    const a = h.app('a', ['button_press']);
    const raw = '{"type":"button_press","buttonId":"main","pressType":"short"}';
    h.relay.relay('button_press', raw);
    expect(a.take()).toEqual([
      {
        type: 'data_stream',
        sessionId: 'user@example.com-a',
        streamType: 'button_press',
        data: JSON.parse(raw),
        timestamp: new Date(T0).toISOString(),
      },
    ]);
    expect(h.relay.relayed).toBe(1);
    expect(h.relay.delivered).toBe(1);
  });

  it('sends nothing to apps that did not subscribe, and counts nothing when nobody did', () => {
    const h = harness();
    const a = h.app('a', ['head_position']);
    h.relay.relay('button_press', '{"type":"button_press"}');
    expect(a.json).toEqual([]);
    expect(h.relay.relayed).toBe(0);
  });

  it('gives a wildcard subscriber each event once, and never a stream its permissions do not allow', () => {
    const h = harness();
    const w = h.app('w', ['*', 'button_press']);
    h.relay.relay('button_press', '{"type":"button_press"}');
    h.relay.relay('audio_chunk', '{"type":"audio_chunk"}');
    expect(w.take().map((m) => m.streamType)).toEqual(['button_press']);
  });

  it('sends a touch gesture to its gesture subscribers and to plain touch_event subscribers, each once', () => {
    const h = harness();
    const specific = h.app('s', ['touch_event:double_tap', 'touch_event']);
    const general = h.app('g', ['touch_event']);
    const other = h.app('o', ['touch_event:triple_tap']);
    h.relay.relayTouch('double_tap', '{"type":"touch_event","gesture_name":"double_tap"}');
    expect(specific.take().map((m) => m.streamType)).toEqual(['touch_event:double_tap']);
    expect(general.take().map((m) => m.streamType)).toEqual(['touch_event']);
    expect(other.json).toEqual([]);
  });

  it('skips an app whose socket is not open (nothing is queued)', () => {
    const h = harness();
    const a = h.app('a', ['button_press']);
    a.drop();
    h.relay.relay('button_press', '{"type":"button_press"}');
    expect(a.sentWhileClosed).toEqual([]);
    expect(h.relay.delivered).toBe(0);
  });

  it('sendDataTo addresses one app with the given stream type; false when it has no open socket', () => {
    const h = harness();
    const a = h.app('a', []);
    expect(h.relay.sendDataTo('a', 'custom_message', { x: 1 })).toBe(true);
    expect(a.take()).toEqual([expect.objectContaining({ streamType: 'custom_message', data: { x: 1 } })]);
    expect(h.relay.sendDataTo('nobody', 'custom_message', {})).toBe(false);
  });
});
