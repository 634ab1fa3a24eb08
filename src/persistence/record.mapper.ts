import { assertKey, assertStorable } from './key.guard.js';
import type {
  AppPatch,
  AppRecord,
  InstalledApp,
  NewApp,
  SettingValue,
  UserAppSettings,
  UserRecord,
  WebviewKeyPair,
} from './persistence.types.js';

/**
 * Conversions between the public records and what the stores keep. Both stores keep the record fields
 * as-is (plus their own `_id`); reading picks the known fields and deep-copies them, so neither a store's
 * internal ids nor references into its cache ever reach a caller.
 */

/** A stored app document as read back from either store (extra keys such as `_id` are ignored). */
export type StoredApp = AppRecord & { webviewKey?: WebviewKeyPair };
/** A stored user document as read back from either store (extra keys such as `_id` are ignored). */
export type StoredUser = UserRecord & { tokenVersion?: number };

/** The fields a patch may change; anything else on a patch object (packageName, createdAt, `_id`...) is dropped. */
const PATCHABLE_APP_FIELDS = [
  'name',
  'description',
  'publicUrl',
  'webviewURL',
  'logoURL',
  'appType',
  'permissions',
  'hardwareRequirements',
  'settings',
  'tools',
  'version',
  'previewImages',
  'hashedApiKey',
] as const satisfies readonly (keyof AppPatch)[];

const OPTIONAL_APP_FIELDS = [
  'description',
  'webviewURL',
  'logoURL',
  'version',
  'tools',
  'previewImages',
] as const satisfies readonly (keyof AppRecord)[];

export function toAppRecord(doc: StoredApp): AppRecord {
  const record: AppRecord = {
    packageName: doc.packageName,
    name: doc.name,
    publicUrl: doc.publicUrl,
    appType: doc.appType,
    permissions: (doc.permissions ?? []).map((p) => withOptional({ type: p.type }, 'description', p.description)),
    hardwareRequirements: (doc.hardwareRequirements ?? []).map((h) =>
      withOptional({ type: h.type, level: h.level }, 'description', h.description),
    ),
    settings: doc.settings ?? [],
    hashedApiKey: doc.hashedApiKey,
    createdAt: new Date(doc.createdAt),
    updatedAt: new Date(doc.updatedAt),
  };
  // Absent optional fields stay absent (not `undefined`) so records compare equal across stores.
  for (const field of OPTIONAL_APP_FIELDS) {
    const value = doc[field];
    if (value !== undefined && value !== null) Object.assign(record, { [field]: value });
  }
  return structuredClone(record);
}

export function toUserRecord(doc: StoredUser): UserRecord {
  return structuredClone({
    userId: doc.userId,
    installedApps: (doc.installedApps ?? []).map((entry): InstalledApp => ({
      packageName: entry.packageName,
      installedDate: new Date(entry.installedDate),
    })),
    runningApps: [...(doc.runningApps ?? [])],
    appSettings: (doc.appSettings ?? []).map((entry): UserAppSettings => ({
      packageName: entry.packageName,
      settings: toSettingValues(entry.settings ?? []),
    })),
    userSettings: { ...(doc.userSettings ?? {}) },
    createdAt: new Date(doc.createdAt),
    updatedAt: new Date(doc.updatedAt),
  });
}

/** Adds `key` only when it has a value, as nedb and MongoDB differ in keeping `undefined`/`null`. */
function withOptional<T extends object, K extends string>(
  base: T,
  key: K,
  value: string | null | undefined,
): T & { [P in K]?: string } {
  return value === undefined || value === null ? base : { ...base, [key]: value };
}

function toSettingValues(settings: SettingValue[]): SettingValue[] {
  return settings.map((s) => ({ key: s.key, value: s.value }));
}

/** Validates a new app and builds the document to insert (a copy: later changes to `app` do not leak in). */
export function buildAppDocument(app: NewApp, now: Date): StoredApp {
  assertKey(app?.packageName, 'packageName');
  const doc: StoredApp = {
    packageName: app.packageName,
    name: app.name,
    publicUrl: app.publicUrl,
    appType: app.appType,
    permissions: app.permissions ?? [],
    hardwareRequirements: app.hardwareRequirements ?? [],
    settings: app.settings ?? [],
    hashedApiKey: app.hashedApiKey,
    createdAt: now,
    updatedAt: now,
  };
  for (const field of OPTIONAL_APP_FIELDS) {
    if (app[field] !== undefined) Object.assign(doc, { [field]: app[field] });
  }
  assertStorable(doc, 'app');
  return structuredClone(doc);
}

/**
 * The `$set` body of an app update: only patchable fields, `undefined` meaning "not given" (so a DTO with
 * absent optional properties does not wipe stored values), always bumping updatedAt.
 */
export function buildAppPatch(patch: AppPatch, now: Date): Partial<StoredApp> {
  const fields: Partial<StoredApp> = {};
  const source: Partial<Record<(typeof PATCHABLE_APP_FIELDS)[number], unknown>> = patch ?? {};
  for (const field of PATCHABLE_APP_FIELDS) {
    if (source[field] !== undefined) Object.assign(fields, { [field]: source[field] });
  }
  assertStorable(fields, 'patch');
  return { ...structuredClone(fields), updatedAt: now };
}

/** Validates a settings list and returns the copy to store. */
export function buildSettingValues(settings: SettingValue[]): SettingValue[] {
  if (!Array.isArray(settings)) throw new TypeError('settings must be an array');
  const copy = settings.map((s, i): SettingValue => {
    if (typeof s?.key !== 'string') throw new TypeError(`settings[${i}].key must be a string`);
    return { key: s.key, value: s.value };
  });
  assertStorable(copy, 'settings');
  return structuredClone(copy);
}

export function emptyUser(userId: string, now: Date): StoredUser {
  return {
    userId,
    installedApps: [],
    runningApps: [],
    appSettings: [],
    userSettings: {},
    createdAt: now,
    updatedAt: now,
  };
}

/** Keys that would reach an object's prototype machinery if they were ever assigned. */
const RESERVED_SETTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Validates a user-settings patch and splits it into the dotted `$set` and `$unset` bodies both stores
 * apply atomically (`userSettings.<key>`), so a key may hold neither `.` nor a leading `$`.
 */
export function buildUserSettingsUpdate(patch: Record<string, unknown>): {
  set: Record<string, unknown>;
  unset: Record<string, true>;
} {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
    throw new TypeError('settings must be an object');
  const set: Record<string, unknown> = {};
  const unset: Record<string, true> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (
      key.length === 0 ||
      key.length > 128 ||
      key.startsWith('$') ||
      key.includes('.') ||
      RESERVED_SETTING_KEYS.has(key)
    )
      throw new TypeError(`settings key cannot be stored: ${JSON.stringify(key)}`);
    if (value === null || value === undefined) {
      unset[`userSettings.${key}`] = true;
      continue;
    }
    assertStorable(value, `settings.${key}`);
    set[`userSettings.${key}`] = structuredClone(value);
  }
  return { set, unset };
}

/** The key pair of a stored app document, copied; null when it has none. */
export function toWebviewKey(doc: StoredApp | null | undefined): WebviewKeyPair | null {
  const key = doc?.webviewKey;
  if (!key) return null;
  return { publicKeyPem: key.publicKeyPem, sealedPrivateKey: key.sealedPrivateKey, createdAt: new Date(key.createdAt) };
}

/** Validates a key pair and returns the copy to store. */
export function buildWebviewKey(key: WebviewKeyPair): WebviewKeyPair {
  if (typeof key?.publicKeyPem !== 'string' || typeof key.sealedPrivateKey !== 'string' || !key.sealedPrivateKey)
    throw new TypeError('a webview key pair needs publicKeyPem and sealedPrivateKey strings');
  const copy = {
    publicKeyPem: key.publicKeyPem,
    sealedPrivateKey: key.sealedPrivateKey,
    createdAt: new Date(key.createdAt),
  };
  assertStorable(copy, 'webviewKey');
  return copy;
}

/** A token version as stored: a finite number ≥ 0 (anything else reads as 0). */
export function toTokenVersion(doc: StoredUser | null | undefined): number {
  const v = doc?.tokenVersion;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

export function assertTokenVersion(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new TypeError('a token version must be a finite number ≥ 0');
}
