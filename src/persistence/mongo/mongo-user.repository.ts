import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { trusted, type Model, type QueryFilter, type UpdateQuery } from 'mongoose';
import { assertKey } from '../key.guard.js';
import type { SettingValue, UserRecord, UserRepository } from '../persistence.types.js';
import {
  assertTokenVersion,
  buildSettingValues,
  buildUserSettingsUpdate,
  toTokenVersion,
  toUserRecord,
  type StoredUser,
} from '../record.mapper.js';
import { isDuplicateKeyError, retryOnDuplicateKey } from './mongo.errors.js';
import { USER_MODEL, type UserEntity } from './user.schema.js';

/** A user deleted between "create if missing" and the update is recreated; this bounds how often. */
const MAX_ATTEMPTS = 5;

/**
 * Users on MongoDB. Every change is a single-document update with operators ($addToSet, $pull, $push with
 * a condition, upserts), so concurrent calls never overwrite each other's changes, and the unique index on
 * userId keeps creation to one record. Our own operators are wrapped in `trusted()` because the connection
 * runs with `sanitizeFilter`, which neutralises any other `$` object that reaches a filter.
 */
@Injectable()
export class MongoUserRepository implements UserRepository, OnModuleInit {
  constructor(@InjectModel(USER_MODEL) private readonly model: Model<UserEntity>) {}

  /** Waits for the unique index on userId, which findOrCreate's race-freedom depends on. */
  async onModuleInit(): Promise<void> {
    await this.model.init();
  }

  async findById(userId: string): Promise<UserRecord | null> {
    assertKey(userId, 'userId');
    const doc = await this.findDoc(userId);
    return doc ? toUserRecord(doc) : null;
  }

  async findOrCreate(userId: string): Promise<UserRecord> {
    assertKey(userId, 'userId');
    const doc = await retryOnDuplicateKey(() =>
      this.model
        .findOneAndUpdate(
          { userId },
          { $setOnInsert: emptyUserFields(new Date()) },
          {
            upsert: true,
            returnDocument: 'after',
            setDefaultsOnInsert: false,
          },
        )
        .lean<StoredUser>()
        .exec(),
    );
    if (!doc) throw new Error(`upsert of user ${userId} returned no document`);
    return toUserRecord(doc);
  }

  async list(): Promise<UserRecord[]> {
    const docs = await this.model.find({}).sort({ userId: 1 }).lean<StoredUser[]>().exec();
    return docs.map(toUserRecord);
  }

  async installApp(userId: string, packageName: string): Promise<UserRecord> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const now = new Date();
    for (let attempt = 1; ; attempt++) {
      await this.ensureUser(userId);
      // Pushing only where the package is absent keeps the first installedDate.
      const { matchedCount } = await this.model
        .updateOne(
          { userId, 'installedApps.packageName': trusted({ $ne: packageName }) },
          { $push: { installedApps: { packageName, installedDate: now } }, $set: { updatedAt: now } },
        )
        .exec();
      const doc = await this.findDoc(userId);
      if (doc && (matchedCount > 0 || doc.installedApps.some((app) => app.packageName === packageName))) {
        return toUserRecord(doc);
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`user ${userId} keeps disappearing while being updated`);
    }
  }

  async uninstallApp(userId: string, packageName: string): Promise<UserRecord | null> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const doc = await this.model
      .findOneAndUpdate(
        { userId },
        { $pull: pullPackage(packageName), $set: { updatedAt: new Date() } },
        {
          returnDocument: 'after',
        },
      )
      .lean<StoredUser>()
      .exec();
    return doc ? toUserRecord(doc) : null;
  }

  async addRunningApp(userId: string, packageName: string): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const now = new Date();
    const { installedApps, appSettings, userSettings, createdAt } = emptyUserFields(now);
    await retryOnDuplicateKey(() =>
      this.model
        .updateOne(
          { userId },
          {
            $addToSet: { runningApps: packageName },
            $set: { updatedAt: now },
            $setOnInsert: { installedApps, appSettings, userSettings, createdAt },
          },
          { upsert: true, setDefaultsOnInsert: false },
        )
        .exec(),
    );
  }

  async removeRunningApp(userId: string, packageName: string): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    await this.model
      .updateOne({ userId }, { $pull: { runningApps: packageName }, $set: { updatedAt: new Date() } })
      .exec();
  }

  async setAppSettings(userId: string, packageName: string, settings: SettingValue[]): Promise<UserRecord> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const values = buildSettingValues(settings);
    for (let attempt = 1; ; attempt++) {
      await this.ensureUser(userId);
      const now = new Date();
      // Replace in place when the package has an entry, otherwise push one only if it is still absent;
      // when both miss, another call pushed first (or the user vanished), and the next round replaces.
      const replaced = await this.model
        .updateOne(
          { userId, 'appSettings.packageName': packageName },
          { $set: { 'appSettings.$.settings': values, updatedAt: now } },
        )
        .exec();
      const applied =
        replaced.matchedCount > 0 ||
        (
          await this.model
            .updateOne(
              { userId, 'appSettings.packageName': trusted({ $ne: packageName }) },
              { $push: { appSettings: { packageName, settings: values } }, $set: { updatedAt: now } },
            )
            .exec()
        ).matchedCount > 0;
      if (applied) {
        const doc = await this.findDoc(userId);
        if (doc) return toUserRecord(doc);
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`could not store settings of ${packageName} for user ${userId}`);
    }
  }

  async updateUserSettings(userId: string, patch: Record<string, unknown>): Promise<UserRecord> {
    assertKey(userId, 'userId');
    const { set, unset } = buildUserSettingsUpdate(patch);
    for (let attempt = 1; ; attempt++) {
      await this.ensureUser(userId);
      // One update with dotted paths: concurrent patches of different keys never undo each other.
      const update: UpdateQuery<UserEntity> = { $set: { ...set, updatedAt: new Date() } };
      if (Object.keys(unset).length > 0) update.$unset = unset;
      const { matchedCount } = await this.model.updateOne({ userId }, update).exec();
      if (matchedCount > 0) {
        const doc = await this.findDoc(userId);
        if (doc) return toUserRecord(doc);
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`user ${userId} keeps disappearing while being updated`);
    }
  }

  async removeAppEverywhere(packageName: string): Promise<void> {
    assertKey(packageName, 'packageName');
    const filter: QueryFilter<UserEntity> = {
      $or: [
        { 'installedApps.packageName': packageName },
        { runningApps: packageName },
        { 'appSettings.packageName': packageName },
      ],
    };
    await this.model.updateMany(filter, { $pull: pullPackage(packageName), $set: { updatedAt: new Date() } }).exec();
  }

  async delete(userId: string): Promise<boolean> {
    assertKey(userId, 'userId');
    const { deletedCount } = await this.model.deleteOne({ userId }).exec();
    return deletedCount > 0;
  }

  async findTokenVersion(userId: string): Promise<number> {
    assertKey(userId, 'userId');
    return toTokenVersion(await this.findDoc(userId));
  }

  async raiseTokenVersion(userId: string, atLeast: number): Promise<number> {
    assertKey(userId, 'userId');
    assertTokenVersion(atLeast);
    const now = new Date();
    const { installedApps, runningApps, appSettings, createdAt } = emptyUserFields(now);
    const doc = await retryOnDuplicateKey(() =>
      this.model
        .findOneAndUpdate(
          { userId },
          {
            $max: { tokenVersion: atLeast },
            $set: { updatedAt: now },
            $setOnInsert: { installedApps, runningApps, appSettings, createdAt },
          },
          { upsert: true, returnDocument: 'after', setDefaultsOnInsert: false },
        )
        .lean<StoredUser>()
        .exec(),
    );
    return toTokenVersion(doc);
  }

  private findDoc(userId: string): Promise<StoredUser | null> {
    return this.model.findOne({ userId }).lean<StoredUser>().exec();
  }

  /** Creates the empty user unless it exists, without touching an existing one. */
  private async ensureUser(userId: string): Promise<void> {
    try {
      await retryOnDuplicateKey(() =>
        this.model
          .updateOne(
            { userId },
            { $setOnInsert: emptyUserFields(new Date()) },
            { upsert: true, setDefaultsOnInsert: false },
          )
          .exec(),
      );
    } catch (err) {
      // Still E11000 after the retries means the user exists, which is all we need.
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
}

/** Everything of a new user but the userId, which an upsert copies from the filter. */
function emptyUserFields(now: Date): Omit<StoredUser, 'userId'> {
  return { installedApps: [], runningApps: [], appSettings: [], userSettings: {}, createdAt: now, updatedAt: now };
}

/** The $pull removing one package from all three per-user lists. */
function pullPackage(packageName: string): UpdateQuery<UserEntity>['$pull'] {
  return {
    installedApps: { packageName },
    runningApps: packageName,
    appSettings: { packageName },
  };
}
