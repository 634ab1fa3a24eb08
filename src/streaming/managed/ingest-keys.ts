import { Injectable } from '@nestjs/common';

export interface IngestHandlers {
  userId: string;
  /** What the ingest renames the stream to once it is accepted (the name in the playback URLs). */
  playbackName: string;
  onPublish(): void;
  onPublishDone(): void;
}

/**
 * Live stream keys across every session, for the ingest's callbacks. A key is accepted for publishing
 * once: a second publisher with the same key is refused.
 */
@Injectable()
export class IngestKeyRegistry {
  private readonly keys = new Map<string, IngestHandlers & { published: boolean }>();

  add(key: string, handlers: IngestHandlers): void {
    this.keys.set(key, { ...handlers, published: false });
  }

  remove(key: string): void {
    this.keys.delete(key);
  }

  /** The playback name to publish the stream under; null: refuse the publisher. */
  publish(key: string): string | null {
    const entry = this.keys.get(key);
    if (!entry || entry.published) return null;
    entry.published = true;
    entry.onPublish();
    return entry.playbackName;
  }

  publishDone(key: string): void {
    const entry = this.keys.get(key);
    if (!entry) return;
    this.keys.delete(key);
    entry.onPublishDone();
  }

  get size(): number {
    return this.keys.size;
  }
}
