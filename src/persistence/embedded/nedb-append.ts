import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** The part of nedb's storage module (`lib/storage.js`) that its persistence calls through. */
interface NedbStorage {
  appendFileAsync(path: string, data: string, options: { encoding?: BufferEncoding; mode?: number }): Promise<void>;
  crashSafeWriteFileLinesAsync(path: string, lines: string[], modes?: unknown): Promise<void>;
  unlinkAsync(path: string): Promise<void>;
}

const handles = new Map<string, Promise<FileHandle>>();
let installed = false;

/** Closes the kept handle of `path` (before nedb replaces or deletes that file). */
async function release(path: string): Promise<void> {
  const handle = handles.get(path);
  if (!handle) return;
  handles.delete(path);
  await handle.then(
    (h) => h.close(),
    () => undefined,
  );
}

/**
 * nedb appends every insert, update and removal to its data file with `fs.appendFile`: open, write and close
 * per change, which in the churn profile was ~8 % of the server's busy time (two changes per app start and
 * stop). This keeps one handle open per data file (O_APPEND, so every write lands at the end) and writes the
 * same bytes through it. nedb runs each datastore's operations one at a time, so a data file never sees two
 * writes at once; before nedb rewrites a file (load, compaction: write a temp file, rename it over) or deletes
 * it, its handle is closed, and the next change opens the new file. Durability is unchanged: neither way syncs.
 * Idempotent; applies to every datastore of the process.
 */
export function keepDataFilesOpen(): void {
  if (installed) return;
  installed = true;
  const storage = createRequire(import.meta.url)('@seald-io/nedb/lib/storage.js') as NedbStorage;
  const rewrite = storage.crashSafeWriteFileLinesAsync;
  const unlink = storage.unlinkAsync;
  storage.appendFileAsync = async (path, data, options) => {
    let handle = handles.get(path);
    if (!handle) {
      handle = open(path, 'a', options.mode);
      handles.set(path, handle);
      handle.catch(() => {
        if (handles.get(path) === handle) handles.delete(path);
      });
    }
    try {
      await (await handle).appendFile(data, { encoding: options.encoding ?? 'utf8' });
    } catch (err) {
      await release(path); // the next change opens the file afresh
      throw err;
    }
  };
  storage.crashSafeWriteFileLinesAsync = async (path, lines, modes) => {
    await release(path);
    await rewrite(path, lines, modes);
  };
  storage.unlinkAsync = async (path) => {
    await release(path);
    await unlink(path);
  };
}
