import { Inject, Injectable } from '@nestjs/common';
import { assertKey } from '../key.guard.js';
import { KeyedMutex } from '../keyed-mutex.js';
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
import { fromKeyPart, keyPart, redisKeys } from './redis-keys.js';
import { compare, RedisRecords, type IndexChange } from './redis-records.js';

/** How many users removeAppEverywhere rewrites at once. */
const REMOVE_EVERYWHERE_BATCH = 32;

/**
 * Users on Redis: one JSON document per user (the whole stored record, so fields added to it later are kept
 * without code here), changed by read–change–compare-and-swap (RedisRecords.update). Writers on other
 * processes therefore never overwrite each other's changes, and creation is one record per userId because
 * the create is a swap conditional on the record being absent.
 *
 * Beside each record: the set of all userIds (list) and, per package, the set of users whose record mentions
 * it (removeAppEverywhere), kept in the same atomic step as the record.
 */
@Injectable()
export class RedisUserRepository implements UserRepository {
  /** Writers of one user from this process queue up instead of retrying against each other. */
  private readonly writers = new KeyedMutex();

  constructor(@Inject(RedisRecords) private readonly records: RedisRecords) {}

  async findById(userId: string): Promise<UserRecord | null> {
    assertKey(userId, 'userId');
    const found = await this.records.read<StoredUser>(redisKeys.user(userId));
    return found ? toUserRecord(found.doc) : null;
  }

  async findOrCreate(userId: string): Promise<UserRecord> {
    assertKey(userId, 'userId');
    const found = await this.records.read<StoredUser>(redisKeys.user(userId));
    if (found) return toUserRecord(found.doc);
    return toUserRecord(await this.change(userId, true, () => false));
  }

  async list(): Promise<UserRecord[]> {
    const ids = (await this.records.members(redisKeys.users)).map(fromKeyPart);
    const docs = await this.records.readMany<StoredUser>(ids.map((id) => redisKeys.user(id)));
    return docs.sort((a, b) => compare(a.userId, b.userId)).map(toUserRecord);
  }

  async installApp(userId: string, packageName: string): Promise<UserRecord> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const doc = await this.change(userId, true, (user, now) => {
      // Only when absent: the first installedDate is kept.
      if (user.installedApps.some((app) => app.packageName === packageName)) return false;
      user.installedApps.push({ packageName, installedDate: now });
      return true;
    });
    return toUserRecord(doc);
  }

  async uninstallApp(userId: string, packageName: string): Promise<UserRecord | null> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const doc = await this.change(userId, false, (user) => withoutPackage(user, packageName));
    return doc ? toUserRecord(doc) : null;
  }

  async addRunningApp(userId: string, packageName: string): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    await this.change(userId, true, (user) => {
      if (user.runningApps.includes(packageName)) return false;
      user.runningApps.push(packageName);
      return true;
    });
  }

  async removeRunningApp(userId: string, packageName: string): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    await this.change(userId, false, (user) => {
      const kept = user.runningApps.filter((p) => p !== packageName);
      if (kept.length === user.runningApps.length) return false;
      user.runningApps = kept;
      return true;
    });
  }

  async setAppSettings(userId: string, packageName: string, settings: SettingValue[]): Promise<UserRecord> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    const values = buildSettingValues(settings);
    const doc = await this.change(userId, true, (user) => {
      // Replaced in place when the package has an entry (its position kept), appended otherwise.
      const entry = user.appSettings.find((s) => s.packageName === packageName);
      if (entry) entry.settings = structuredClone(values);
      else user.appSettings.push({ packageName, settings: structuredClone(values) });
      return true;
    });
    return toUserRecord(doc);
  }

  async updateUserSettings(userId: string, patch: Record<string, unknown>): Promise<UserRecord> {
    assertKey(userId, 'userId');
    const { set, unset } = buildUserSettingsUpdate(patch);
    const prefix = 'userSettings.';
    const doc = await this.change(userId, true, (user) => {
      // Applied key by key inside the compare-and-swap: concurrent patches of different keys never undo each other.
      const settings = { ...(user.userSettings ?? {}) };
      for (const [path, value] of Object.entries(set)) settings[path.slice(prefix.length)] = value;
      for (const path of Object.keys(unset)) delete settings[path.slice(prefix.length)];
      user.userSettings = settings;
      return true;
    });
    return toUserRecord(doc);
  }

  async findTokenVersion(userId: string): Promise<number> {
    assertKey(userId, 'userId');
    return toTokenVersion((await this.records.read<StoredUser>(redisKeys.user(userId)))?.doc);
  }

  async raiseTokenVersion(userId: string, atLeast: number): Promise<number> {
    assertKey(userId, 'userId');
    assertTokenVersion(atLeast);
    const doc = await this.change(userId, true, (user) => {
      if (toTokenVersion(user) >= atLeast) return false;
      user.tokenVersion = atLeast;
      return true;
    });
    return toTokenVersion(doc);
  }

  async removeAppEverywhere(packageName: string): Promise<void> {
    assertKey(packageName, 'packageName');
    // The package's index set names every user to rewrite: no scan of all users or keys.
    const userIds = (await this.records.members(redisKeys.packageUsers(packageName))).map(fromKeyPart);
    for (let i = 0; i < userIds.length; i += REMOVE_EVERYWHERE_BATCH) {
      await Promise.all(
        userIds
          .slice(i, i + REMOVE_EVERYWHERE_BATCH)
          .map((userId) => this.change(userId, false, (user) => withoutPackage(user, packageName))),
      );
    }
  }

  async delete(userId: string): Promise<boolean> {
    assertKey(userId, 'userId');
    let deleted = false;
    await this.writers.run(userId, () =>
      this.records.update<StoredUser>(redisKeys.user(userId), keyPart(userId), (current) => {
        deleted = current !== null;
        if (!current) return undefined;
        return { doc: null, indexes: indexChanges(current, null) };
      }),
    );
    return deleted;
  }

  /**
   * Applies `edit` to the user's record (created empty first when `create`; left absent otherwise) in one
   * compare-and-swap, bumping updatedAt when `edit` reports a change. Returns the record afterwards (null:
   * no such user and `create` false).
   */
  private change(userId: string, create: true, edit: (user: StoredUser, now: Date) => boolean): Promise<StoredUser>;
  private change(
    userId: string,
    create: false,
    edit: (user: StoredUser, now: Date) => boolean,
  ): Promise<StoredUser | null>;
  private change(
    userId: string,
    create: boolean,
    edit: (user: StoredUser, now: Date) => boolean,
  ): Promise<StoredUser | null> {
    return this.writers.run(userId, async () =>
      this.records.update<StoredUser>(redisKeys.user(userId), keyPart(userId), (current) => {
        const now = new Date();
        if (!current && !create) return undefined;
        const user = current ? structuredClone(current) : emptyUser(userId, now);
        const changed = edit(user, now);
        if (current && !changed) return undefined;
        if (changed) user.updatedAt = now;
        return { doc: user, indexes: indexChanges(current, user) };
      }),
    );
  }
}

/** Removes the package from the three per-user lists; false when it was in none. */
function withoutPackage(user: StoredUser, packageName: string): boolean {
  const installed = user.installedApps.filter((a) => a.packageName !== packageName);
  const running = user.runningApps.filter((p) => p !== packageName);
  const settings = user.appSettings.filter((s) => s.packageName !== packageName);
  const changed =
    installed.length !== user.installedApps.length ||
    running.length !== user.runningApps.length ||
    settings.length !== user.appSettings.length;
  user.installedApps = installed;
  user.runningApps = running;
  user.appSettings = settings;
  return changed;
}

/** Every package a record mentions. */
function packagesOf(user: StoredUser | null): Set<string> {
  const packages = new Set<string>();
  if (!user) return packages;
  for (const app of user.installedApps ?? []) packages.add(app.packageName);
  for (const packageName of user.runningApps ?? []) packages.add(packageName);
  for (const entry of user.appSettings ?? []) packages.add(entry.packageName);
  return packages;
}

/** The index set changes taking `before` to `after` (null: no record). */
function indexChanges(before: StoredUser | null, after: StoredUser | null): IndexChange[] {
  const changes: IndexChange[] = [];
  if (!before !== !after) changes.push({ key: redisKeys.users, add: after !== null });
  const was = packagesOf(before);
  const is = packagesOf(after);
  for (const p of is) if (!was.has(p)) changes.push({ key: redisKeys.packageUsers(p), add: true });
  for (const p of was) if (!is.has(p)) changes.push({ key: redisKeys.packageUsers(p), add: false });
  return changes;
}
