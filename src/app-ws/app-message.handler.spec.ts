import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppMessagingService } from '../app-messaging/app-messaging.service.js';
import type { AppRuntime } from '../app-connections/app-connections.js';
import type { TypedMessage } from '../common/json.util.js';
import type { AppConfig } from '../config/config.types.js';
import { AppMessageHandler, type BoundApp } from './app-message.handler.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';
import { recordingSession } from '../../test/support/recording-session.js';
import { validAppMessage } from '../../test/support/app-messages.js';

const PKG = 'com.example.app';
const MAX = 4_096;
const NOT_REJECTED = { applied: true, subscriptions: [], newlyRejected: [], newlyOverLimit: [] };

/** Through `parse`, `handle` and `binary` only: where an app's message goes and what the app is told back. */
function harness(answers: Record<string, unknown> = {}, glassesOpen = true) {
  const messaging = { handle: vi.fn(async () => ({ ok: true })) };
  const handler = new AppMessageHandler(
    { maxMessageBytes: MAX, maxLanguageStreamsPerSession: 2 } as AppConfig,
    messaging as unknown as AppMessagingService,
  );
  const rec = recordingSession({ 'subscriptions.update': NOT_REJECTED, ...answers }, { glassesOpen });
  const bound: BoundApp = { session: rec.session, rt: {} as AppRuntime, packageName: PKG };
  const ws = new FakeSocket();
  const send = (msg: Record<string, unknown>) => handler.handle(bound, ws.ws, msg as TypedMessage);
  const errors = () => ws.ofType('tpa_connection_error').map((m) => m.code);
  return { handler, messaging, bound, ...rec, ws, send, errors };
}

describe('AppMessageHandler', () => {
  useFakeClock();
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  it('applies a subscription_update for the bound app only, and tells the glasses the app state changed', () => {
    const h = harness();
    h.send({ type: 'subscription_update', packageName: 'someone.else', subscriptions: ['button_press'] });
    expect(h.called('subscriptions.update')).toEqual([[PKG, ['button_press']]]);
    expect(h.called('apps.notifyGlassesAppState')).toHaveLength(1);
  });

  it('reports rejected subscriptions as permission_error and language streams past the cap as LIMIT_EXCEEDED', () => {
    const h = harness({
      'subscriptions.update': {
        applied: true,
        subscriptions: [],
        newlyRejected: [{ stream: 'audio_chunk', requiredPermission: 'MICROPHONE', message: 'm' }],
        newlyOverLimit: ['transcription:de-DE'],
      },
    });
    h.send({ type: 'subscription_update', subscriptions: ['audio_chunk', 'transcription:de-DE'] });
    expect(h.ws.ofType('permission_error')).toEqual([
      expect.objectContaining({ details: [expect.objectContaining({ stream: 'audio_chunk' })] }),
    ]);
    expect(h.errors()).toEqual(['LIMIT_EXCEEDED']);
  });

  it("passes a manager's refusal to the app as tpa_connection_error with the manager's code", () => {
    const h = harness({ 'photo.request': { ok: false, code: 'PERMISSION_DENIED', message: 'no camera' } });
    h.send({ type: 'photo_request', requestId: 'r' });
    expect(h.ws.ofType('tpa_connection_error')).toEqual([
      expect.objectContaining({ code: 'PERMISSION_DENIED', message: 'no camera' }),
    ]);
  });

  it('routes each request to its manager, always as the bound app', () => {
    const h = harness();
    for (const type of <const>[
      'photo_request',
      'rtmp_stream_request',
      'rtmp_stream_stop',
      'audio_play_request',
      'audio_stop_request',
      'rgb_led_control',
    ])
      h.send(validAppMessage(type, { packageName: 'forged' }));
    h.send({ type: 'managed_stream_stop' });
    expect(h.calls.map((c) => [c.call, c.args[0]])).toEqual([
      ['photo.request', PKG],
      ['video.request', PKG],
      ['video.stopRequest', PKG],
      ['audio.play', PKG],
      ['audio.stop', PKG],
      ['phone.led', PKG],
      ['managedStreaming.stopRequest', PKG],
    ]);
  });

  it('validates a display_event before the display manager sees it', () => {
    const h = harness();
    h.send({ type: 'display_event', layout: { layoutType: 'nonsense' } });
    h.send({ type: 'display_event', layout: { layoutType: 'text_wall', text: 'x' }, view: 'side' });
    h.send({ type: 'display_event', layout: { layoutType: 'text_wall', text: 'x' }, durationMs: -1 });
    expect(h.errors()).toEqual(['MALFORMED_MESSAGE', 'MALFORMED_MESSAGE', 'MALFORMED_MESSAGE']);
    expect(h.called('display.handleDisplayRequest')).toEqual([]);
    h.send({ type: 'display_event', layout: { layoutType: 'text_wall', text: 'x' }, durationMs: 500 });
    expect(h.called('display.handleDisplayRequest')).toEqual([
      [expect.objectContaining({ packageName: PKG, view: 'main', durationMs: 500 })],
    ]);
  });

  it('keeps a display while the glasses are away but tells the app GLASSES_NOT_CONNECTED', () => {
    const h = harness({}, false);
    h.send({ type: 'display_event', layout: { layoutType: 'text_wall', text: 'x' } });
    expect(h.called('display.handleDisplayRequest')).toHaveLength(1);
    expect(h.errors()).toEqual(['GLASSES_NOT_CONNECTED']);
  });

  it('refuses a second init and unknown types without closing the socket', () => {
    const h = harness();
    h.send({ type: 'tpa_connection_init' });
    h.send({ type: 'no_such_type' });
    expect(h.errors()).toEqual(['ALREADY_INITIALIZED', 'UNKNOWN_MESSAGE_TYPE']);
    expect(h.ws.closed).toBeNull();
  });

  it('hands app-to-app messages to the messaging service and reports its failure as INTERNAL_ERROR', async () => {
    const h = harness();
    h.messaging.handle.mockRejectedValueOnce(new Error('boom'));
    h.send({ type: 'app_broadcast_message', payload: {} });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.messaging.handle).toHaveBeenCalledWith(
      h.session,
      PKG,
      expect.objectContaining({ type: 'app_broadcast_message' }),
    );
    expect(h.errors()).toEqual(['INTERNAL_ERROR']);
  });

  it('parse refuses binary before init, oversized and malformed frames, with a code', () => {
    const h = harness();
    expect(h.handler.parse(h.ws.ws, Buffer.alloc(8), true)).toBeNull();
    expect(h.handler.parse(h.ws.ws, Buffer.alloc(MAX + 1, 0x20), false)).toBeNull();
    expect(h.handler.parse(h.ws.ws, Buffer.from('{'), false)).toBeNull();
    expect(h.errors()).toEqual(['MALFORMED_MESSAGE', 'MESSAGE_TOO_LARGE', 'MALFORMED_MESSAGE']);
    expect(h.handler.parse(h.ws.ws, Buffer.from('{"type":"ping"}'), false)).toEqual({ type: 'ping' });
  });

  it('sends binary frames of an initialized app to the output audio manager', () => {
    const h = harness();
    const frame = Buffer.alloc(16);
    h.handler.binary(h.bound, h.ws.ws, frame);
    expect(h.called('audioOutput.frame')).toEqual([[PKG, frame]]);
  });
});
