import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DeviceModel } from './device-models.js';
import type { GlassesToCloud, GlassesToCloudType, RtmpStreamStatusValue } from './glasses-protocol.types.js';
import type { GlassesState } from './glasses-state.js';
import type { PayloadArgs, SimulatedGlassesEvents } from './simulated-glasses.types.js';

/**
 * The glasses' and phone's own events, one method per message (buttons, touch, head, VAD, transcripts, location,
 * battery, notifications, calendar, app start/stop, stream status). Each only builds its message and sends it
 * through `send`; the socket, the waits and the auto-answers are the subclass's.
 */
export abstract class GlassesSenders extends EventEmitter<SimulatedGlassesEvents> {
  abstract readonly state: GlassesState;
  abstract get model(): DeviceModel;
  abstract get isOpen(): boolean;
  abstract send<K extends GlassesToCloudType>(type: K, ...args: PayloadArgs<K>): void;

  pressButton(pressType: 'short' | 'long' = 'short', buttonId = 'main'): void {
    this.send('button_press', { buttonId, pressType });
  }

  touch(gesture: string): void {
    this.send('touch_event', {
      device_model: this.model.name,
      gesture_name: gesture,
      timestamp: new Date().toISOString(),
    });
  }

  headPosition(position: 'up' | 'down'): void {
    this.send('head_position', { position });
  }

  vad(speaking: boolean): void {
    this.send('VAD', { status: speaking });
  }

  /** On-device transcription result (`local_transcription`). */
  sendTranscript(
    text: string,
    opts: { isFinal?: boolean; language?: string; startTime?: number; endTime?: number; speakerId?: number } = {},
  ): void {
    const endTime = opts.endTime ?? Date.now();
    // Roughly a third of a second per word, so start < end like a real utterance.
    const words = text.trim().split(/\s+/).filter(Boolean).length;
    const startTime = opts.startTime ?? endTime - Math.max(300, words * 300);
    this.send('local_transcription', {
      text,
      isFinal: opts.isFinal ?? true,
      startTime,
      endTime,
      speakerId: opts.speakerId ?? 0,
      transcribeLanguage: opts.language ?? 'en-US',
      provider: 'simulator',
    });
  }

  /**
   * Reports a fix (`location_update`) and remembers it as the answer to later location polls.
   * Before connect() it only presets the fix, so a test can set it up front.
   */
  setLocation(lat: number, lng: number, accuracy?: number, correlationId?: string): void {
    this.state.location = accuracy === undefined ? { lat, lng } : { lat, lng, accuracy };
    if (this.isOpen) this.send('location_update', { lat, lng, accuracy, correlationId });
  }

  battery(level: number, charging = false, timeRemaining?: number): void {
    this.send('glasses_battery_update', { level, charging, timeRemaining });
  }

  phoneBattery(level: number, charging = false, timeRemaining?: number): void {
    this.send('phone_battery_update', { level, charging, timeRemaining });
  }

  notification(n: {
    title: string;
    content: string;
    app?: string;
    priority?: 'low' | 'normal' | 'high';
    notificationId?: string;
  }): string {
    const notificationId = n.notificationId ?? randomUUID();
    this.send('phone_notification', {
      notificationId,
      app: n.app ?? 'Messages',
      title: n.title,
      content: n.content,
      priority: n.priority ?? 'normal',
    });
    return notificationId;
  }

  calendarEvent(e: {
    title: string;
    dtStart: string | Date;
    dtEnd: string | Date;
    eventId?: string;
    timezone?: string;
  }): string {
    const eventId = e.eventId ?? randomUUID();
    const iso = (d: string | Date): string => (d instanceof Date ? d.toISOString() : d);
    this.send('calendar_event', {
      eventId,
      title: e.title,
      dtStart: iso(e.dtStart),
      dtEnd: iso(e.dtEnd),
      timezone: e.timezone ?? 'UTC',
      timeStamp: new Date().toISOString(),
    });
    return eventId;
  }

  startApp(packageName: string): void {
    this.send('start_app', { packageName });
  }

  stopApp(packageName: string): void {
    this.send('stop_app', { packageName });
  }

  /** Reports a stream state change, e.g. to simulate a failing stream when `autoAnswer.rtmp` is off. */
  rtmpStatus(
    streamId: string,
    status: RtmpStreamStatusValue,
    extra: Omit<GlassesToCloud['rtmp_stream_status'], 'streamId' | 'status'> = {},
  ): void {
    const stream = this.state.rtmpStreams[streamId];
    if (stream) stream.status = status;
    this.send('rtmp_stream_status', { streamId, status, appId: stream?.appId, ...extra });
  }
}
