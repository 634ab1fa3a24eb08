import { Inject, Injectable } from '@nestjs/common';
import { assertKey } from '../key.guard.js';
import {
  DuplicateKeyError,
  type AppPatch,
  type AppRecord,
  type AppRepository,
  type NewApp,
  type WebviewKeyPair,
} from '../persistence.types.js';
import {
  buildAppDocument,
  buildAppPatch,
  buildWebviewKey,
  toAppRecord,
  toWebviewKey,
  type StoredApp,
} from '../record.mapper.js';
import { fromKeyPart, keyPart, redisKeys } from './redis-keys.js';
import { compare, RedisRecords } from './redis-records.js';

/**
 * Apps on Redis: one JSON document per app (the whole stored record: fields kept beside AppRecord survive
 * every update), plus the set of all package names for list(). A create is a swap conditional on the record
 * being absent, so of concurrent creates of one package name exactly one wins, on any process.
 */
@Injectable()
export class RedisAppRepository implements AppRepository {
  constructor(@Inject(RedisRecords) private readonly records: RedisRecords) {}

  async findByPackageName(packageName: string): Promise<AppRecord | null> {
    assertKey(packageName, 'packageName');
    const found = await this.records.read<StoredApp>(redisKeys.app(packageName));
    return found ? toAppRecord(found.doc) : null;
  }

  async list(): Promise<AppRecord[]> {
    const names = (await this.records.members(redisKeys.apps)).map(fromKeyPart);
    const docs = await this.records.readMany<StoredApp>(names.map((name) => redisKeys.app(name)));
    return docs.sort((a, b) => compare(a.packageName, b.packageName)).map(toAppRecord);
  }

  async create(app: NewApp): Promise<AppRecord> {
    const doc = buildAppDocument(app, new Date());
    const key = redisKeys.app(doc.packageName);
    const created = await this.records.compareAndSwap(key, null, doc, keyPart(doc.packageName), [
      { key: redisKeys.apps, add: true },
    ]);
    if (!created) throw new DuplicateKeyError(doc.packageName);
    return toAppRecord(doc);
  }

  async update(packageName: string, patch: AppPatch): Promise<AppRecord | null> {
    assertKey(packageName, 'packageName');
    const fields = buildAppPatch(patch, new Date());
    const doc = await this.records.update<StoredApp>(redisKeys.app(packageName), keyPart(packageName), (current) =>
      current ? { doc: { ...current, ...structuredClone(fields) } } : undefined,
    );
    return doc ? toAppRecord(doc) : null;
  }

  async delete(packageName: string): Promise<boolean> {
    assertKey(packageName, 'packageName');
    let deleted = false;
    await this.records.update<StoredApp>(redisKeys.app(packageName), keyPart(packageName), (current) => {
      deleted = current !== null;
      return current ? { doc: null, indexes: [{ key: redisKeys.apps, add: false }] } : undefined;
    });
    return deleted;
  }

  async findWebviewKey(packageName: string): Promise<WebviewKeyPair | null> {
    assertKey(packageName, 'packageName');
    return toWebviewKey((await this.records.read<StoredApp>(redisKeys.app(packageName)))?.doc);
  }

  async replaceWebviewKey(
    packageName: string,
    expected: WebviewKeyPair | null,
    next: WebviewKeyPair,
  ): Promise<WebviewKeyPair | null> {
    assertKey(packageName, 'packageName');
    const webviewKey = buildWebviewKey(next);
    const doc = await this.records.update<StoredApp>(redisKeys.app(packageName), keyPart(packageName), (current) => {
      if (!current) return undefined;
      // The compare of the compare-and-set: only over the pair the caller saw (none: none yet).
      const seen = current.webviewKey?.sealedPrivateKey ?? null;
      if (seen !== (expected ? String(expected.sealedPrivateKey) : null)) return undefined;
      return { doc: { ...current, webviewKey: structuredClone(webviewKey) } };
    });
    return toWebviewKey(doc);
  }
}
