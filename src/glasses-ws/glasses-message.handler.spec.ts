import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import { GlassesMessageHandler } from './glasses-message.handler.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';
import { recordingSession } from '../../test/support/recording-session.js';

const MAX = 4_096;

/** Through `handle` only: which manager a frame reaches, and what the glasses are told when it is refused. */
function harness(answers: Record<string, unknown> = {}) {
  const handler = new GlassesMessageHandler({ maxMessageBytes: MAX } as AppConfig);
  const rec = recordingSession(answers);
  const ws = new FakeSocket();
  const send = (msg: unknown) => handler.handle(rec.session, ws.ws, Buffer.from(JSON.stringify(msg)), false);
  const errors = () => ws.ofType('connection_error').map((m) => m.code);
  return { handler, ...rec, ws, send, errors };
}

describe('GlassesMessageHandler', () => {
  useFakeClock();
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  it('relays a relayed event with its own text, byte for byte', () => {
    const h = harness();
    const text = '{ "type": "button_press", "buttonId": "main", "pressType": "long" }';
    h.handler.handle(h.session, h.ws.ws, Buffer.from(text), false);
    expect(h.called('relay.relay')).toEqual([['button_press', text]]);
    expect(h.errors()).toEqual([]);
  });

  it('does not relay a location update the location manager holds back', () => {
    const h = harness({ 'location.handleUpdate': false });
    h.send({ type: 'location_update', lat: 1, lng: 2 });
    expect(h.called('location.handleUpdate')).toHaveLength(1);
    expect(h.called('relay.relay')).toEqual([]);
  });

  it('lets the device manager see battery and connection state before they are relayed', () => {
    const h = harness();
    h.send({ type: 'glasses_battery_update', level: 50 });
    expect(h.calls.map((c) => c.call)).toEqual(['device.handleBattery', 'relay.relay']);
  });

  it('routes control messages to their manager', () => {
    const h = harness();
    h.send({ type: 'photo_response', requestId: 'r' });
    h.send({ type: 'keep_alive_ack', ackId: 'a' });
    h.send({ type: 'rtmp_stream_status', status: 'active' });
    h.send({ type: 'audio_play_response', requestId: 'p' });
    expect(h.calls.map((c) => c.call)).toEqual([
      'photo.handleResponse',
      'video.handleKeepAliveAck',
      'video.handleStatus',
      'audio.handlePlayResponse',
    ]);
  });

  it('sends a touch event to the gesture-aware relay', () => {
    const h = harness();
    h.send({ type: 'touch_event', gesture_name: 'double_tap' });
    expect(h.called('relay.relayTouch').map(([g]) => g)).toEqual(['double_tap']);
  });

  it('answers ping with pong, and connection_init with an ack that names the user', () => {
    const h = harness();
    h.send({ type: 'ping' });
    h.send({ type: 'connection_init' });
    expect(h.ws.take().map((m) => m.type)).toEqual(['pong', 'connection_ack']);
    expect(h.called('microphone.sync')).toEqual([[true]]);
  });

  it('passes binary frames to the audio manager', () => {
    const h = harness();
    const pcm = Buffer.alloc(320);
    h.handler.handle(h.session, h.ws.ws, pcm, true);
    expect(h.called('audio.handleAudio')).toEqual([[pcm]]);
  });

  it('refuses oversized, malformed and unknown frames with a coded connection_error and keeps the socket open', () => {
    const h = harness();
    h.handler.handle(h.session, h.ws.ws, Buffer.alloc(MAX + 1), true);
    h.handler.handle(h.session, h.ws.ws, Buffer.from(`{"type":"button_press","x":"${'a'.repeat(MAX)}"}`), false);
    h.handler.handle(h.session, h.ws.ws, Buffer.from('not json'), false);
    h.send({ noType: true });
    h.send({ type: 'no_such_type' });
    h.send({ type: 'start_app' });
    expect(h.errors()).toEqual([
      'MESSAGE_TOO_LARGE',
      'MESSAGE_TOO_LARGE',
      'MALFORMED_MESSAGE',
      'MALFORMED_MESSAGE',
      'UNKNOWN_MESSAGE_TYPE',
      'MALFORMED_MESSAGE',
    ]);
    expect(h.calls).toEqual([]);
    expect(h.ws.closed).toBeNull();
  });

  it('turns a manager that throws into INTERNAL_ERROR for that frame only', () => {
    const h = harness({
      'photo.handleResponse': () => {
        throw new Error('boom');
      },
    });
    h.send({ type: 'photo_response', requestId: 'r' });
    h.send({ type: 'ping' });
    expect(h.ws.take().map((m) => m.code ?? m.type)).toEqual(['INTERNAL_ERROR', 'pong']);
  });

  it('reports a failed start_app with START_FAILED and its stage; stop_app stops as the user', async () => {
    const h = harness({
      'apps.startApp': async () => ({ ok: false, packageName: 'p', stage: 'LOOKUP', message: 'not installed' }),
      'apps.stopApp': async () => true,
    });
    h.send({ type: 'start_app', packageName: 'p' });
    h.send({ type: 'stop_app', packageName: 'p' });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.ws.ofType('connection_error')).toEqual([
      expect.objectContaining({ code: 'START_FAILED', details: { packageName: 'p', stage: 'LOOKUP' } }),
    ]);
    expect(h.called('apps.stopApp')).toEqual([['p', 'user_disabled']]);
  });
});
