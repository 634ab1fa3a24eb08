import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import type { AppToCloudMessage } from '../protocol/app.types.js';
import { AUDIO_STREAM_ID_BYTES } from '../protocol/vocabulary.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { AudioStreamDirectory } from './audio-stream-directory.js';
import { OutputAudioStream } from './output-audio-stream.js';
import type { Result } from '../common/result.js';
import { LazyMap } from '../common/lazy-collections.js';

/** The SDK prefixes every binary frame with the stream's id: a 36-character (UUID) ASCII string. */
export const STREAM_ID_BYTES = AUDIO_STREAM_ID_BYTES;
/** The SDK keeps one stream open at a time; a few more cover an end racing the next start. */
export const MAX_STREAMS_PER_APP = 4;
const MAX_READERS = 4;

export type OutputStreamResult = Result;

/**
 * The answer to a binary frame that names no audio stream of its app: what `frame()` answers then, and the answer
 * for a session that never had an output stream (whose manager, built on first use, does not exist).
 */
export function frameWithoutStream(data: Buffer): OutputStreamResult {
  if (data.length <= STREAM_ID_BYTES)
    return {
      ok: false,
      code: 'MALFORMED_MESSAGE',
      message: `Binary frames are ${STREAM_ID_BYTES} bytes of audio stream id followed by MP3 data`,
    };
  return { ok: false, code: 'STREAM_NOT_FOUND', message: 'Binary frame for an unknown audio stream' };
}

/**
 * App → phone audio output streams of one session (SDK 3 `session.audio.createOutputStream()`):
 * `audio_stream_start` gets `audio_stream_ready` with an unguessable URL at once, binary frames (stream id +
 * MP3) are relayed to whoever plays that URL, `audio_stream_end` finishes it. A stream goes when its app stops,
 * the session ends, or no frame arrives for AUDIO_STREAM_IDLE_MS; an ended stream stays playable that long.
 */
@Injectable({ scope: Scope.REQUEST })
export class AudioOutputManager {
  private readonly streams = new LazyMap<string, OutputAudioStream>();
  private readonly timers = new LazyMap<OutputAudioStream, NodeJS.Timeout>();

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
    private readonly directory: AudioStreamDirectory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    for (const s of [...this.streams.values()]) if (s.packageName === packageName) this.close(s);
  }

  private dispose(): void {
    for (const s of [...this.streams.values()]) this.close(s);
  }

  get count(): number {
    return this.streams.size;
  }

  /** The boundary check (`src/protocol/app-checks.ts`) vouches for the stream id and the content type. */
  start(packageName: string, msg: AppToCloudMessage<'audio_stream_start'>): OutputStreamResult {
    const streamId = msg.streamId;
    if (this.streams.has(streamId))
      return { ok: false, code: 'CONFLICT', message: `Audio stream ${streamId} already exists` };
    let open = 0;
    for (const s of this.streams.values()) if (s.packageName === packageName && !s.isEnded) open++;
    if (open >= MAX_STREAMS_PER_APP)
      return {
        ok: false,
        code: 'RATE_LIMITED',
        message: `At most ${MAX_STREAMS_PER_APP} output audio streams per app at once; end one first`,
      };
    const stream = new OutputAudioStream(streamId, packageName, {
      bufferBytes: this.config.audioStreamBufferBytes,
      maxReaders: MAX_READERS,
    });
    this.streams.set(streamId, stream);
    this.directory.add(stream);
    this.watch(stream, this.config.audioStreamIdleMs);
    this.connections.sendJson(packageName, {
      type: 'audio_stream_ready',
      sessionId: appSessionId(this.ctx.userId, packageName),
      streamId,
      streamUrl: `${this.config.publicUrl}/api/audio-streams/${stream.token}`,
      timestamp: new Date().toISOString(),
    });
    return { ok: true };
  }

  /** A binary frame from the app: 36 bytes of stream id, then MP3. Relayed without copying. */
  frame(packageName: string, data: Buffer): OutputStreamResult {
    if (data.length <= STREAM_ID_BYTES) return frameWithoutStream(data);
    const stream = this.streams.get(data.toString('latin1', 0, STREAM_ID_BYTES));
    if (!stream || stream.packageName !== packageName) return frameWithoutStream(data);
    // Frames racing the end are dropped silently: the SDK's own ordering makes them harmless.
    stream.write(data.subarray(STREAM_ID_BYTES));
    return { ok: true };
  }

  end(packageName: string, msg: AppToCloudMessage<'audio_stream_end'>): OutputStreamResult {
    const stream = msg.streamId !== undefined ? this.streams.get(msg.streamId) : undefined;
    if (!stream || stream.packageName !== packageName)
      return { ok: false, code: 'STREAM_NOT_FOUND', message: 'audio_stream_end names no audio stream of this app' };
    if (stream.isEnded) return { ok: true };
    stream.end();
    // Still playable for a while: the phone may ask for the URL after a short stream already ended.
    this.watch(stream, this.config.audioStreamIdleMs, true);
    return { ok: true };
  }

  describe(): Array<{ streamId: string; packageName: string; bytesIn: number; players: number; ended: boolean }> {
    return [...this.streams.values()].map((s) => ({
      streamId: s.streamId,
      packageName: s.packageName,
      bytesIn: s.bytesIn,
      players: s.readerCount,
      ended: s.isEnded,
    }));
  }

  /** Closes the stream once `ms` pass without a frame (or at once after that when `final`). */
  private watch(stream: OutputAudioStream, ms: number, final = false): void {
    clearTimeout(this.timers.get(stream));
    const check = (): void => {
      const quietFor = Date.now() - stream.lastWriteAt;
      if (final || stream.isEnded || quietFor >= ms) return this.close(stream);
      this.arm(stream, check, ms - quietFor);
    };
    this.arm(stream, check, ms);
  }

  private arm(stream: OutputAudioStream, fn: () => void, ms: number): void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    this.timers.set(stream, timer);
  }

  private close(stream: OutputAudioStream): void {
    clearTimeout(this.timers.get(stream));
    this.timers.delete(stream);
    stream.close();
    this.directory.remove(stream);
    if (this.streams.get(stream.streamId) === stream) this.streams.delete(stream.streamId);
  }
}
