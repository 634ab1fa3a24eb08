import { Inject, Injectable } from '@nestjs/common';
import { assertKey } from '../key.guard.js';
import type { SettingValue, UserRecord, UserRepository } from '../persistence.types.js';
import {
  assertTokenVersion,
  buildSettingValues,
  buildUserSettingsUpdate,
  emptyUser,
  toTokenVersion,
  toUserRecord,
  type StoredUser,
} from '../record.mapper.js';
import { EmbeddedStore, findByUniqueField } from './embedded.store.js';
import { isUniqueViolation } from './nedb.interop.js';

/** A user deleted between "create if missing" and the update is recreated; this bounds how often. */
const MAX_ATTEMPTS = 5;

/**
 * Users on nedb. Every change is one nedb update with Mongo-style operators, which nedb applies atomically
 * (its per-datastore queue), so concurrent calls never overwrite each other's changes; creation is made
 * race-free by the unique index on userId.
 */
@Injectable()
export class EmbeddedUserRepository implements UserRepository {
  constructor(@Inject(EmbeddedStore) private readonly store: EmbeddedStore) {}

  async findById(userId: string): Promise<UserRecord | null> {
    assertKey(userId, 'userId');
    const doc = await this.findDoc(userId);
    return doc ? toUserRecord(doc) : null;
  }

  async findOrCreate(userId: string): Promise<UserRecord> {
    assertKey(userId, 'userId');
    for (let attempt = 1; ; attempt++) {
      await this.ensureUser(userId);
      const doc = await this.findDoc(userId);
      if (doc) return toUserRecord(doc);
      if (attempt >= MAX_ATTEMPTS) throw new Error(`user ${userId} keeps disappearing while being created`);
    }
  }

  async list(): Promise<UserRecord[]> {
    const docs = await this.store.users.findAsync({}).sort({ userId: 1 });
    return docs.map(toUserRecord);
  }

  async installApp(userId: string, packageName: string): Promise<UserRecord> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const now = new Date();
    // Pushing only where the package is absent keeps the first installedDate. nedb's `$ne` on an array
    // means "some element differs", unlike MongoDB, hence `$not` around a plain match.
    const doc = await this.applyToUser(
      userId,
      { userId, $not: { 'installedApps.packageName': packageName } },
      { $push: { installedApps: { packageName, installedDate: now } }, $set: { updatedAt: now } },
      (user) => user.installedApps.some((app) => app.packageName === packageName),
    );
    return toUserRecord(doc);
  }

  async uninstallApp(userId: string, packageName: string): Promise<UserRecord | null> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const { affectedDocuments } = await this.store.users.updateAsync(
      { userId },
      { $pull: pullPackage(packageName), $set: { updatedAt: new Date() } },
      { returnUpdatedDocs: true },
    );
    return affectedDocuments ? toUserRecord(affectedDocuments) : null;
  }

  async addRunningApp(userId: string, packageName: string): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    // Every app start and session start comes here: one update (one appended line) when the user exists
    // and lacks the package, none when it is already listed; the create-and-retry path only for a new user.
    // nedb matches `runningApps: x` against any element, so `$not` means "not listed".
    const update = { $addToSet: { runningApps: packageName }, $set: { updatedAt: new Date() } };
    const { numAffected } = await this.store.users.updateAsync(
      { userId, $not: { runningApps: packageName } },
      update,
      {},
    );
    if (numAffected > 0 || (await this.store.users.countAsync({ userId })) > 0) return;
    await this.applyToUser(userId, { userId }, update, (user) => user.runningApps.includes(packageName));
  }

  async removeRunningApp(userId: string, packageName: string): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    // Matching only a user that lists the package: removing an absent one writes nothing.
    await this.store.users.updateAsync(
      { userId, runningApps: packageName },
      { $pull: { runningApps: packageName }, $set: { updatedAt: new Date() } },
      {},
    );
  }

  async setAppSettings(userId: string, packageName: string, settings: SettingValue[]): Promise<UserRecord> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const values = buildSettingValues(settings);
    // nedb applies modifiers in key order: the $pull empties the package's entry, then $push adds the new
    // one, within one atomic update (MongoDB would refuse two operators on one path).
    const doc = await this.applyToUser(
      userId,
      { userId },
      {
        $pull: { appSettings: { packageName } },
        $push: { appSettings: { packageName, settings: values } },
        $set: { updatedAt: new Date() },
      },
    );
    return toUserRecord(doc);
  }

  async updateUserSettings(userId: string, patch: Record<string, unknown>): Promise<UserRecord> {
    assertKey(userId, 'userId');
    const { set, unset } = buildUserSettingsUpdate(patch);
    // One update with dotted paths: concurrent patches of different keys never undo each other.
    const update: Record<string, unknown> = { $set: { ...set, updatedAt: new Date() } };
    if (Object.keys(unset).length > 0) update.$unset = unset;
    return toUserRecord(await this.applyToUser(userId, { userId }, update));
  }

  async removeAppEverywhere(packageName: string): Promise<void> {
    assertKey(packageName, 'packageName');
    await this.store.users.updateAsync(
      {
        $or: [
          { 'installedApps.packageName': packageName },
          { runningApps: packageName },
          { 'appSettings.packageName': packageName },
        ],
      },
      { $pull: pullPackage(packageName), $set: { updatedAt: new Date() } },
      { multi: true },
    );
  }

  async delete(userId: string): Promise<boolean> {
    assertKey(userId, 'userId');
    return (await this.store.users.removeAsync({ userId }, { multi: false })) > 0;
  }

  async findTokenVersion(userId: string): Promise<number> {
    assertKey(userId, 'userId');
    return toTokenVersion(await this.findDoc(userId));
  }

  async raiseTokenVersion(userId: string, atLeast: number): Promise<number> {
    assertKey(userId, 'userId');
    assertTokenVersion(atLeast);
    const doc = await this.applyToUser(
      userId,
      { userId },
      { $max: { tokenVersion: atLeast }, $set: { updatedAt: new Date() } },
    );
    return toTokenVersion(doc);
  }

  /** nedb's own document (see findByUniqueField): mapped or only looked at, never changed. */
  private async findDoc(userId: string): Promise<StoredUser | null> {
    return findByUniqueField(this.store.users, 'userId', userId);
  }

  /** Inserts an empty user unless one exists; a concurrent insert losing on the unique index is fine. */
  private async ensureUser(userId: string): Promise<void> {
    if ((await this.store.users.countAsync({ userId })) > 0) return;
    try {
      await this.store.users.insertAsync(emptyUser(userId, new Date()));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  /**
   * Creates the user if needed, then runs one atomic update and reads the result. Retried when the update
   * matched nothing because the user was deleted in between (unless `alreadyApplied` says the state the
   * update was after is there anyway, as for a conditional update whose condition no longer held).
   */
  private async applyToUser(
    userId: string,
    query: Record<string, unknown>,
    update: Record<string, unknown>,
    alreadyApplied: (user: StoredUser) => boolean = () => false,
  ): Promise<StoredUser> {
    for (let attempt = 1; ; attempt++) {
      await this.ensureUser(userId);
      const { numAffected } = await this.store.users.updateAsync(query, update, {});
      const doc = await this.findDoc(userId);
      if (doc && (numAffected > 0 || alreadyApplied(doc))) return doc;
      if (attempt >= MAX_ATTEMPTS) throw new Error(`user ${userId} keeps disappearing while being updated`);
    }
  }
}

/** The $pull removing one package from all three per-user lists. */
function pullPackage(packageName: string): Record<string, unknown> {
  return {
    installedApps: { packageName },
    runningApps: packageName,
    appSettings: { packageName },
  };
}
