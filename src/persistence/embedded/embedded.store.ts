import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { keepDataFilesOpen } from './nedb-append.js';
import { Datastore } from './nedb.interop.js';
import type { StoredApp, StoredUser } from '../record.mapper.js';

export interface EmbeddedStoreOptions {
  dataDir: string;
  /**
   * How often to rewrite the append-only data files while running (0 disables). Every update appends a line,
   * so without this a long-running server's files only shrink at restart.
   */
  compactionIntervalMs?: number;
}

const DEFAULT_COMPACTION_INTERVAL_MS = 10 * 60_000;

/**
 * The two nedb datastores behind the embedded repositories (`<dataDir>/apps.db`, `<dataDir>/users.db`).
 * Created through `open()` so nothing can use a datastore before its file is loaded and its unique index
 * exists. nedb runs every operation of a datastore through one queue, which is what makes each single
 * update atomic; the repositories rely on that.
 */
export class EmbeddedStore implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EmbeddedStore.name);
  private compactionTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dataDir: string,
    readonly apps: Datastore<StoredApp>,
    readonly users: Datastore<StoredUser>,
  ) {}

  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    keepDataFilesOpen();
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const [apps, users] = await Promise.all([
      loadDatastore<StoredApp>(join(options.dataDir, 'apps.db'), 'packageName'),
      loadDatastore<StoredUser>(join(options.dataDir, 'users.db'), 'userId'),
    ]);
    const store = new EmbeddedStore(options.dataDir, apps, users);
    store.startCompaction(options.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS);
    return store;
  }

  /** True once closed; the datastores keep working in memory but nothing more is compacted. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Waits for queued operations and rewrites both files compactly. Idempotent. nedb queues the compaction
   * behind every write already issued, so nothing acknowledged is lost.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.compactionTimer);
      this.compactionTimer = undefined;
      await Promise.all([this.apps.compactDatafileAsync(), this.users.compactDatafileAsync()]);
    })();
    return this.closing;
  }

  /** Runs after every module's onModuleDestroy, so state other modules save while stopping is included. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private startCompaction(intervalMs: number): void {
    if (intervalMs <= 0) return;
    // Our own timer rather than nedb's setAutocompactionInterval: it is unref'd, so it never keeps a
    // process alive that forgot to close the store.
    this.compactionTimer = setInterval(() => {
      Promise.all([this.apps.compactDatafileAsync(), this.users.compactDatafileAsync()]).catch((err: unknown) => {
        this.logger.warn(`compaction of ${this.dataDir} failed: ${String(err)}`);
      });
    }, intervalMs);
    this.compactionTimer.unref();
  }
}

async function loadDatastore<T extends object>(filename: string, uniqueField: keyof T & string): Promise<Datastore<T>> {
  // An onload handler keeps nedb from rethrowing a load error asynchronously; we await autoloadPromise instead.
  // Owner-only files: they hold users' emails and apps' key hashes.
  const db = new Datastore<T>({
    filename,
    autoload: true,
    onload: () => undefined,
    modes: { fileMode: 0o600, dirMode: 0o700 },
  });
  await db.autoloadPromise;
  await db.ensureIndexAsync({ fieldName: uniqueField, unique: true });
  return db;
}

interface UniqueIndex<T> {
  getMatching(value: unknown): T[];
}

/**
 * The document whose unique-indexed `field` is `value`, read from nedb's in-memory index at once, or null. A read
 * through nedb's cursor waits in the datastore's one queue behind every queued write and its file append (11.7 ms
 * on average while 100 sessions a second came and went here, so a glasses connect's token read waited behind
 * other users' writes). The index holds what every completed write left, which is what such a read returns once
 * the queue reaches it, and a write still queued may or may not be seen, as with any store. The document is
 * nedb's own: callers copy what they keep (the record mappers do) and never change it.
 */
export function findByUniqueField<T extends object>(datastore: Datastore<T>, field: string, value: string): T | null {
  const index = (datastore as unknown as { indexes: Record<string, UniqueIndex<T> | undefined> }).indexes[field];
  if (index === undefined) throw new Error(`no index on ${field}`);
  return index.getMatching(value)[0] ?? null;
}
