import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { Datastore } from './nedb.interop.js';

/** One (user, package) store as nedb keeps it: the entries are a list, so user keys are never field names. */
export interface StoredSimpleStorage {
  userId: string;
  packageName: string;
  entries: { key: string; value: string }[];
  /** Bumped by every write; writes are conditional on it (compare-and-swap), so none is lost. */
  version: number;
  updatedAt: Date;
}

export interface EmbeddedSimpleStorageStoreOptions {
  dataDir: string;
  /** How often to rewrite the append-only file while running (0 disables); storage writes are frequent. */
  compactionIntervalMs?: number;
}

const DEFAULT_COMPACTION_INTERVAL_MS = 10 * 60_000;

/**
 * `<dataDir>/simple-storage.db`, a datastore of its own beside apps.db and users.db (EmbeddedStore): storage
 * documents are up to 1 MB each and rewritten often, which would bloat the users file. Opened through `open()`
 * so nothing uses it before its file is loaded and its unique (userId, packageName) index exists.
 */
export class EmbeddedSimpleStorageStore implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EmbeddedSimpleStorageStore.name);
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(readonly db: Datastore<StoredSimpleStorage>) {}

  static async open(options: EmbeddedSimpleStorageStoreOptions): Promise<EmbeddedSimpleStorageStore> {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    // Owner-only file: it holds users' emails and whatever apps keep for them.
    const db = new Datastore<StoredSimpleStorage>({
      filename: join(options.dataDir, 'simple-storage.db'),
      autoload: true,
      onload: () => undefined,
      modes: { fileMode: 0o600, dirMode: 0o700 },
    });
    await db.autoloadPromise;
    await db.ensureIndexAsync({ fieldName: ['userId', 'packageName'], unique: true });
    // Counts a package's users (its user limit) without a scan of every store.
    await db.ensureIndexAsync({ fieldName: 'packageName' });
    const store = new EmbeddedSimpleStorageStore(db);
    const interval = options.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
    if (interval > 0) {
      store.timer = setInterval(() => {
        db.compactDatafileAsync().catch((err: unknown) =>
          store.logger.warn(`compaction of simple-storage.db failed: ${String(err)}`),
        );
      }, interval);
      store.timer.unref();
    }
    return store;
  }

  /** Waits for queued writes and rewrites the file compactly. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.db.compactDatafileAsync();
    })();
    return this.closing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
