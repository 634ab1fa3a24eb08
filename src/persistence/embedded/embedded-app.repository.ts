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
import { buildAppDocument, buildAppPatch, buildWebviewKey, toAppRecord, toWebviewKey } from '../record.mapper.js';
import { EmbeddedStore, findByUniqueField } from './embedded.store.js';
import { isUniqueViolation } from './nedb.interop.js';

@Injectable()
export class EmbeddedAppRepository implements AppRepository {
  constructor(@Inject(EmbeddedStore) private readonly store: EmbeddedStore) {}

  async findByPackageName(packageName: string): Promise<AppRecord | null> {
    assertKey(packageName, 'packageName');
    const doc = findByUniqueField(this.store.apps, 'packageName', packageName);
    return doc ? toAppRecord(doc) : null;
  }

  async list(): Promise<AppRecord[]> {
    const docs = await this.store.apps.findAsync({}).sort({ packageName: 1 });
    return docs.map(toAppRecord);
  }

  async create(app: NewApp): Promise<AppRecord> {
    const doc = buildAppDocument(app, new Date());
    try {
      return toAppRecord(await this.store.apps.insertAsync(doc));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(doc.packageName);
      throw err;
    }
  }

  async update(packageName: string, patch: AppPatch): Promise<AppRecord | null> {
    assertKey(packageName, 'packageName');
    const { affectedDocuments } = await this.store.apps.updateAsync(
      { packageName },
      { $set: buildAppPatch(patch, new Date()) },
      { returnUpdatedDocs: true },
    );
    return affectedDocuments ? toAppRecord(affectedDocuments) : null;
  }

  async delete(packageName: string): Promise<boolean> {
    assertKey(packageName, 'packageName');
    return (await this.store.apps.removeAsync({ packageName }, { multi: false })) > 0;
  }

  async findWebviewKey(packageName: string): Promise<WebviewKeyPair | null> {
    assertKey(packageName, 'packageName');
    return toWebviewKey(await this.store.apps.findOneAsync({ packageName }));
  }

  async replaceWebviewKey(
    packageName: string,
    expected: WebviewKeyPair | null,
    next: WebviewKeyPair,
  ): Promise<WebviewKeyPair | null> {
    assertKey(packageName, 'packageName');
    const webviewKey = buildWebviewKey(next);
    const current = expected
      ? { 'webviewKey.sealedPrivateKey': String(expected.sealedPrivateKey) }
      : { webviewKey: { $exists: false } };
    await this.store.apps.updateAsync({ packageName, ...current }, { $set: { webviewKey } }, {});
    return toWebviewKey(await this.store.apps.findOneAsync({ packageName }));
  }
}
