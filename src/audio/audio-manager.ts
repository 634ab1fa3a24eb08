import { Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../apps/app-connections.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import { SessionContext } from '../session/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';

export type AudioSink = (pcm: Buffer) => void;

const OPEN = 1;
const BINARY = { binary: true } as const;

/**
 * Glasses audio (PCM s16le, 16 kHz, mono) to `audio_chunk` subscribers as binary frames, and to the
 * session's other consumers (transcription). Frames are forwarded as received: only an odd trailing
 * byte is carried over to keep samples aligned, so the common case copies nothing.
 */
@Injectable({ scope: Scope.REQUEST })
export class AudioManager {
  private carry: Buffer | null = null;
  private readonly sinks = new Set<AudioSink>();
  lastAudioAt = 0;
  framesReceived = 0;
  bytesReceived = 0;

  constructor(
    ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly connections: AppConnections,
    private readonly microphone: MicrophoneManager,
  ) {
    ctx.defer(() => {
      this.sinks.clear();
      this.carry = null;
    });
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
    const subs = this.subscriptions.lookup('audio_chunk');
    for (let i = 0; i < subs.length; i++) {
      const ws = this.connections.get(subs[i]!.packageName)?.ws;
      if (ws && ws.readyState === OPEN) ws.send(pcm, BINARY);
    }
    for (const sink of this.sinks) sink(pcm);
  }
}
