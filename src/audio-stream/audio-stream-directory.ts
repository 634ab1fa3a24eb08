import { Injectable } from '@nestjs/common';
import type { OutputAudioStream } from './output-audio-stream.js';

/**
 * Every live output audio stream by its URL token, across sessions: the one place the HTTP route looks a
 * stream up. The owning session's manager adds and removes entries.
 */
@Injectable()
export class AudioStreamDirectory {
  private readonly streams = new Map<string, OutputAudioStream>();

  add(stream: OutputAudioStream): void {
    this.streams.set(stream.token, stream);
  }

  remove(stream: OutputAudioStream): void {
    if (this.streams.get(stream.token) === stream) this.streams.delete(stream.token);
  }

  get(token: string): OutputAudioStream | undefined {
    return this.streams.get(token);
  }

  get size(): number {
    return this.streams.size;
  }
}
