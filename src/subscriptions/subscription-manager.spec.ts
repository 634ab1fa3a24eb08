import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import type { AppPermission } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from './subscription-manager.js';
import { useFakeClock } from '../../test/support/fake-clock.js';

const GRACE_MS = 8_000;

function harness(maxLanguageStreamsPerSession = 2) {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const subs = new SubscriptionManager(ctx, {
    emptySubscriptionGraceMs: GRACE_MS,
    maxLanguageStreamsPerSession,
  } as AppConfig);
  const changes: Array<{ packageName: string; added: string[] }> = [];
  ctx.on('subscriptionsChanged', (e) => changes.push(e));
  const app = (pkg: string, permissions: AppPermission[] = [{ type: 'ALL' }]) => subs.registerApp(pkg, permissions);
  const keys = (key: string) => subs.lookup(key).map((s) => s.packageName);
  return { ctx, subs, changes, app, keys };
}

describe('SubscriptionManager', () => {
  const clock = useFakeClock();

  it('replaces the whole set on each update and indexes it by relay key', () => {
    const h = harness();
    h.app('a');
    h.subs.update('a', ['button_press', 'head_position']);
    h.subs.update('a', ['head_position', 'location_stream']);
    expect(h.subs.subscriptionsOf('a')).toEqual(['head_position', 'location_stream']);
    expect(h.keys('button_press')).toEqual([]);
    expect(h.keys('head_position')).toEqual(['a']);
    expect(h.keys('location_update')).toEqual(['a']);
    expect(h.changes.at(-1)).toEqual({ packageName: 'a', added: ['location_stream'] });
  });

  it('ignores an update from an app that was never registered', () => {
    const h = harness();
    expect(h.subs.update('ghost', ['button_press'])).toMatchObject({ applied: false });
    expect(h.keys('button_press')).toEqual([]);
  });

  it('keeps the subscriptions through an empty update within the grace after (re)connecting, and applies it after', () => {
    const h = harness();
    h.app('a');
    h.subs.update('a', ['audio_chunk']);
    clock.advance(GRACE_MS - 1);
    expect(h.subs.update('a', [])).toMatchObject({ applied: false, subscriptions: ['audio_chunk'] });
    expect(h.keys('audio_chunk')).toEqual(['a']);
    clock.advance(1);
    expect(h.subs.update('a', [])).toMatchObject({ applied: true, subscriptions: [] });
    expect(h.keys('audio_chunk')).toEqual([]);
  });

  it('restarts the grace when the app is registered again (a reconnect)', () => {
    const h = harness();
    h.app('a');
    h.subs.update('a', ['audio_chunk']);
    clock.advance(GRACE_MS * 2);
    h.app('a');
    expect(h.subs.update('a', [])).toMatchObject({ applied: false });
  });

  it('drops streams the app lacks the permission for, reporting each only once', () => {
    const h = harness();
    h.app('a', []);
    const first = h.subs.update('a', ['audio_chunk', 'button_press']);
    expect(first.subscriptions).toEqual(['button_press']);
    expect(first.newlyRejected).toEqual([
      expect.objectContaining({ stream: 'audio_chunk', requiredPermission: 'MICROPHONE' }),
    ]);
    expect(h.subs.update('a', ['audio_chunk', 'button_press']).newlyRejected).toEqual([]);
  });

  it('caps distinct language streams per session, keeping those already held and sharing equal ones', () => {
    const h = harness(2);
    h.app('a');
    h.app('b');
    h.subs.update('a', ['transcription:en-US', 'transcription:fr-FR']);
    const r = h.subs.update('b', ['transcription:en-US', 'transcription:de-DE']);
    expect(r.subscriptions).toEqual(['transcription:en-US']);
    expect(r.newlyOverLimit).toEqual(['transcription:de-DE']);
    expect(h.subs.update('b', ['transcription:en-US', 'transcription:de-DE']).newlyOverLimit).toEqual([]);
  });

  it('gives wildcard subscribers their own list and only lets them have streams their permissions allow', () => {
    const h = harness();
    h.app('w', []);
    h.subs.update('w', ['*']);
    expect(h.subs.wildcardSubscribers.map((s) => s.packageName)).toEqual(['w']);
    expect(h.subs.appMay('w', 'button_press')).toBe(true);
    expect(h.subs.appMay('w', 'audio_chunk')).toBe(false);
  });

  it("removes an app's subscriptions when it stops, and everything at dispose", async () => {
    const h = harness();
    h.app('a');
    h.app('b');
    h.subs.update('a', ['button_press']);
    h.subs.update('b', ['button_press']);
    h.ctx.emit('appStopped', { packageName: 'a', reason: 'user_disabled' });
    expect(h.keys('button_press')).toEqual(['b']);
    await h.ctx.dispose();
    expect(h.keys('button_press')).toEqual([]);
    expect(h.subs.all()).toEqual({});
  });

  it('normalises a bare transcription to en-US and keeps the location rate only while subscribed', () => {
    const h = harness();
    h.app('a');
    h.subs.update('a', ['transcription', { stream: 'location_stream', rate: 'realtime' }]);
    expect(h.subs.subscriptionsOf('a')).toEqual(['transcription:en-US', 'location_stream']);
    expect(h.subs.locationRates()).toEqual(['realtime']);
    h.subs.update('a', ['transcription']);
    expect(h.subs.locationRates()).toEqual([]);
  });
});
