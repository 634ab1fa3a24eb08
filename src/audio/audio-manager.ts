import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import type { AppToCloudMessage } from '../protocol/app.types.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { rewriteTtsUrl } from '../tts/tts-url.js';
import { RecentAudio } from './recent-audio.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import type { Result } from '../common/result.js';
import { LazyMap, LazySet } from '../common/lazy-collections.js';

export type AudioSink = (pcm: Buffer) => void;

const BYTES_PER_SECOND = 32_000;
/** The SDK waits 60 s for an answer to a play request that stops other audio. */
export const AUDIO_PLAY_EXPIRY_MS = 60_000;

export type AudioRequestResult = Result<object, 'MALFORMED_MESSAGE' | 'GLASSES_NOT_CONNECTED' | 'CONFLICT'>;

interface PendingPlay {
  packageName: string;
  timer: NodeJS.Timeout;
}

/**
 * Glasses audio (PCM s16le, 16 kHz, mono) to `audio_chunk` subscribers as binary frames, and to the
 * session's other consumers (transcription). Frames are forwarded as received: only an odd trailing
 * byte is carried over to keep samples aligned, so the common case copies nothing.
 */
@Injectable({ scope: Scope.REQUEST })
export class AudioManager {
  private carry: Buffer | null = null;
  private readonly sinks = new LazySet<AudioSink>();
  private recent: RecentAudio | null = null;
  private readonly plays = new LazyMap<string, PendingPlay>();
  lastAudioAt = 0;
  framesReceived = 0;
  bytesReceived = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly connections: AppConnections,
    private readonly microphone: MicrophoneManager,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    for (const [id, p] of this.plays) if (p.packageName === packageName) this.forgetPlay(id);
  }

  private dispose(): void {
    this.sinks.clear();
    this.carry = null;
    this.recent = null;
    for (const id of [...this.plays.keys()]) this.forgetPlay(id);
  }

  /** Registers another consumer of aligned PCM; returns the function that removes it. */
  addSink(sink: AudioSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  handleAudio(frame: Buffer): void {
    this.lastAudioAt = Date.now();
    this.framesReceived++;
    this.bytesReceived += frame.length;
    let pcm = frame;
    if (this.carry !== null) {
      pcm = Buffer.concat([this.carry, frame]);
      this.carry = null;
    }
    if ((pcm.length & 1) === 1) {
      this.carry = Buffer.from(pcm.subarray(pcm.length - 1));
      pcm = pcm.subarray(0, pcm.length - 1);
    }
    this.microphone.onAudioReceived(this.lastAudioAt);
    if (pcm.length === 0) return;
    if (this.config.recentAudioSeconds > 0) {
      // Whole samples only, so the oldest byte kept is always the start of a sample.
      this.recent ??= new RecentAudio(Math.floor((this.config.recentAudioSeconds * BYTES_PER_SECOND) / 2) * 2);
      this.recent.push(pcm);
    }
    const subs = this.subscriptions.lookup('audio_chunk');
    for (let i = 0; i < subs.length; i++) this.connections.sendAudio(subs[i]!.packageName, pcm);
    for (const sink of this.sinks) sink(pcm);
  }

  /** The last seconds of audio (PCM s16le 16 kHz mono), oldest first; empty when none arrived. */
  recentAudio(): Buffer {
    return this.recent?.read() ?? Buffer.alloc(0);
  }

  /** An app's audio_play_request: forwarded to the glasses; the answer is routed back by requestId. */
  play(packageName: string, msg: AppToCloudMessage<'audio_play_request'>): AudioRequestResult {
    const requestId = msg.requestId;
    // Answers the SDK's pending promise at once instead of letting it wait 60 s.
    const fail = (error: string) =>
      this.connections.sendJson(packageName, {
        type: 'audio_play_response',
        sessionId: appSessionId(this.ctx.userId, packageName),
        requestId,
        success: false,
        error,
        timestamp: new Date().toISOString(),
      });
    if (!this.ctx.glassesOpen) {
      fail('GLASSES_NOT_CONNECTED: the glasses are not connected (cloud → phone)');
      return { ok: false, code: 'GLASSES_NOT_CONNECTED', message: 'The glasses are not connected (cloud → phone)' };
    }
    // The glasses answer by requestId alone: an id pending for another app stays that app's, or its answer
    // would go to whoever reused the id.
    const owner = this.plays.get(requestId)?.packageName;
    if (owner !== undefined && owner !== packageName) {
      const message = `requestId ${JSON.stringify(requestId.slice(0, 64))} is in use by another app's pending play request; use a unique id`;
      fail(`CONFLICT: ${message}`);
      return { ok: false, code: 'CONFLICT', message };
    }
    this.forgetPlay(requestId);
    const timer = setTimeout(() => this.forgetPlay(requestId), AUDIO_PLAY_EXPIRY_MS);
    timer.unref();
    this.plays.set(requestId, { packageName, timer });
    this.ctx.sendToGlasses({
      type: 'audio_play_request',
      sessionId: this.ctx.userId,
      requestId,
      packageName,
      appId: packageName,
      audioUrl: rewriteTtsUrl(msg.audioUrl, this.config.publicUrl),
      volume: msg.volume ?? 1,
      stopOtherAudio: msg.stopOtherAudio !== false,
      ...(msg.trackId !== undefined ? { trackId: msg.trackId } : {}),
      timestamp: new Date().toISOString(),
    });
    return { ok: true };
  }

  stop(packageName: string, msg: AppToCloudMessage<'audio_stop_request'>): AudioRequestResult {
    if (!this.ctx.glassesOpen)
      return { ok: false, code: 'GLASSES_NOT_CONNECTED', message: 'The glasses are not connected (cloud → phone)' };
    this.ctx.sendToGlasses({
      type: 'audio_stop_request',
      sessionId: this.ctx.userId,
      appId: packageName,
      ...(msg.trackId !== undefined ? { trackId: msg.trackId } : {}),
      timestamp: new Date().toISOString(),
    });
    return { ok: true };
  }

  /** The glasses' audio_play_response goes to the app that asked; unknown or expired ids are dropped. */
  handlePlayResponse(msg: GlassesInbound<'audio_play_response'>): void {
    const requestId = msg.requestId;
    const pending = this.plays.get(requestId);
    if (!pending) return;
    this.forgetPlay(requestId);
    this.connections.sendJson(pending.packageName, {
      type: 'audio_play_response',
      sessionId: appSessionId(this.ctx.userId, pending.packageName),
      requestId,
      success: msg.success === true,
      ...(msg.error !== undefined ? { error: msg.error } : {}),
      ...(msg.duration !== undefined ? { duration: msg.duration } : {}),
      timestamp: new Date().toISOString(),
    });
  }

  get pendingPlays(): number {
    return this.plays.size;
  }

  private forgetPlay(requestId: string): void {
    const p = this.plays.get(requestId);
    if (!p) return;
    clearTimeout(p.timer);
    this.plays.delete(requestId);
  }
}
