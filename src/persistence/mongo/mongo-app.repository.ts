import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { trusted, type Model } from 'mongoose';
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
import { APP_MODEL, type AppEntity } from './app.schema.js';
import { isDuplicateKeyError } from './mongo.errors.js';

@Injectable()
export class MongoAppRepository implements AppRepository, OnModuleInit {
  constructor(@InjectModel(APP_MODEL) private readonly model: Model<AppEntity>) {}

  /** Waits for the unique index: without it a duplicate create would succeed. */
  async onModuleInit(): Promise<void> {
    await this.model.init();
  }

  async findByPackageName(packageName: string): Promise<AppRecord | null> {
    assertKey(packageName, 'packageName');
    const doc = await this.model.findOne({ packageName }).lean<StoredApp>().exec();
    return doc ? toAppRecord(doc) : null;
  }

  async list(): Promise<AppRecord[]> {
    const docs = await this.model.find({}).sort({ packageName: 1 }).lean<StoredApp[]>().exec();
    return docs.map(toAppRecord);
  }

  async create(app: NewApp): Promise<AppRecord> {
    const doc = buildAppDocument(app, new Date());
    try {
      const created = await this.model.create(doc);
      return toAppRecord(created.toObject<StoredApp>());
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new DuplicateKeyError(doc.packageName);
      throw err;
    }
  }

  async update(packageName: string, patch: AppPatch): Promise<AppRecord | null> {
    assertKey(packageName, 'packageName');
    const doc = await this.model
      .findOneAndUpdate({ packageName }, { $set: buildAppPatch(patch, new Date()) }, { returnDocument: 'after' })
      .lean<StoredApp>()
      .exec();
    return doc ? toAppRecord(doc) : null;
  }

  async delete(packageName: string): Promise<boolean> {
    assertKey(packageName, 'packageName');
    const { deletedCount } = await this.model.deleteOne({ packageName }).exec();
    return deletedCount > 0;
  }

  async findWebviewKey(packageName: string): Promise<WebviewKeyPair | null> {
    assertKey(packageName, 'packageName');
    return toWebviewKey(await this.model.findOne({ packageName }).lean<StoredApp>().exec());
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
      : { webviewKey: trusted({ $exists: false }) };
    await this.model.updateOne({ packageName, ...current }, { $set: { webviewKey } }).exec();
    return this.findWebviewKey(packageName);
  }
}
