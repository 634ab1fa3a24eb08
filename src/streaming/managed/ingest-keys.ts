import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { errorMessage } from '../../common/cloud-error.js';

export interface IngestHandlers {
  userId: string;
  /** What the ingest renames the stream to once it is accepted (the name in the playback URLs). */
  playbackName: string;
  onPublish(): void;
  onPublishDone(): void;
}

/**
 * Where the keys live when several processes serve the ingest's callbacks (the callback may reach any process,
 * the stream lives on its user's): it claims a key once cluster-wide and carries the publish to the process that
 * holds the stream. Absent on a single process.
 */
export interface IngestKeyDirectory {
  /** Lets the directory call back into this process's keys (publishes that reached another process). */
  attach(local: IngestKeyRegistry): void;
  add(key: string, entry: { userId: string; playbackName: string }): Promise<void>;
  remove(key: string): Promise<void>;
  /** Claims the key for its one publisher and has the stream's process apply it; the playback name, or null. */
  publish(key: string): Promise<string | null>;
  /** Forgets the key and has the stream's process apply the end of the publish. */
  publishDone(key: string): Promise<void>;
}

export const INGEST_KEY_DIRECTORY = Symbol('INGEST_KEY_DIRECTORY');

/**
 * Live stream keys across every session, for the ingest's callbacks. A key is accepted for publishing
 * once: a second publisher with the same key is refused.
 */
@Injectable()
export class IngestKeyRegistry {
  private readonly logger = new Logger('IngestKeys');
  private readonly keys = new Map<string, IngestHandlers & { published: boolean }>();

  constructor(@Optional() @Inject(INGEST_KEY_DIRECTORY) private readonly directory?: IngestKeyDirectory) {
    directory?.attach(this);
  }

  add(key: string, handlers: IngestHandlers): void {
    this.keys.set(key, { ...handlers, published: false });
    // The glasses get the key before they can publish with it: the write is ahead of the ingest's callback.
    this.directory
      ?.add(key, { userId: handlers.userId, playbackName: handlers.playbackName })
      .catch((err: unknown) => this.logger.warn(`sharing a stream key failed: ${errorMessage(err)}`));
  }

  remove(key: string): void {
    this.keys.delete(key);
    this.directory
      ?.remove(key)
      .catch((err: unknown) => this.logger.warn(`forgetting a shared stream key failed: ${errorMessage(err)}`));
  }

  /** The playback name to publish the stream under; null: refuse the publisher. */
  async publish(key: string): Promise<string | null> {
    if (this.directory) return this.directory.publish(key);
    return this.publishLocal(key);
  }

  async publishDone(key: string): Promise<void> {
    if (this.directory) return this.directory.publishDone(key);
    this.publishDoneLocal(key);
  }

  /** The publish of a key this process holds (the directory decided it is the one accepted). */
  publishLocal(key: string): string | null {
    const entry = this.keys.get(key);
    if (!entry || entry.published) return null;
    entry.published = true;
    entry.onPublish();
    return entry.playbackName;
  }

  publishDoneLocal(key: string): boolean {
    const entry = this.keys.get(key);
    if (!entry) return false;
    this.keys.delete(key);
    entry.onPublishDone();
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}
