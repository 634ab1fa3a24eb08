/**
 * Stored shapes and the repository ports. Both stores (embedded and MongoDB) implement these and run
 * the same contract suite, so nothing above this folder knows which one is in use.
 */

export const APP_TYPES = ['standard', 'background', 'system_dashboard'] as const;
export type AppType = (typeof APP_TYPES)[number];

export const PERMISSION_TYPES = [
  'MICROPHONE',
  'LOCATION',
  'BACKGROUND_LOCATION',
  'CALENDAR',
  'CAMERA',
  'NOTIFICATIONS',
  'READ_NOTIFICATIONS',
  'POST_NOTIFICATIONS',
  'ALL',
] as const;
export type PermissionType = (typeof PERMISSION_TYPES)[number];

export const HARDWARE_TYPES = ['CAMERA', 'DISPLAY', 'MICROPHONE', 'SPEAKER', 'IMU', 'BUTTON', 'LIGHT', 'WIFI'] as const;
export type HardwareType = (typeof HARDWARE_TYPES)[number];
export type HardwareLevel = 'REQUIRED' | 'OPTIONAL';

export interface AppPermission {
  type: PermissionType;
  description?: string;
}

export interface HardwareRequirement {
  type: HardwareType;
  level: HardwareLevel;
  description?: string;
}

/** One entry of an app's settings schema. Groups have no key. */
export interface AppSettingSchemaEntry {
  type: string;
  key?: string;
  label?: string;
  title?: string;
  defaultValue?: unknown;
  options?: { label: string; value: unknown }[];
  min?: number;
  max?: number;
  step?: number;
  [extra: string]: unknown;
}

/** A tool an app declares (its `app_config.json` `tools`): what the SDK's `onToolCall` answers. */
export interface AppToolParameter {
  type: 'string' | 'number' | 'boolean';
  description: string;
  enum?: string[];
  required?: boolean;
}

export interface AppTool {
  id: string;
  description: string;
  activationPhrases?: string[];
  parameters?: Record<string, AppToolParameter>;
}

/** A store screenshot an app config lists. */
export interface AppPreviewImage {
  url: string;
  orientation?: 'landscape' | 'portrait';
  order?: number;
  imageId?: string;
}

export interface SettingValue {
  key: string;
  value: unknown;
}

export interface AppRecord {
  packageName: string;
  name: string;
  description?: string;
  publicUrl: string;
  webviewURL?: string;
  logoURL?: string;
  appType: AppType;
  permissions: AppPermission[];
  hardwareRequirements: HardwareRequirement[];
  settings: AppSettingSchemaEntry[];
  /** Absent when the app declares none. */
  tools?: AppTool[];
  /** The app's own version string, as its app_config.json says. */
  version?: string;
  previewImages?: AppPreviewImage[];
  /** Lowercase hex sha256 of the API key; the key itself is never stored. */
  hashedApiKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export type NewApp = Omit<AppRecord, 'createdAt' | 'updatedAt'>;

/**
 * An app's RS256 key pair for webview signed user tokens. Kept in the app's stored record but never part of
 * AppRecord, so no view of an app can carry it; the private key is sealed by its user (webview-auth).
 */
export interface WebviewKeyPair {
  publicKeyPem: string;
  sealedPrivateKey: string;
  createdAt: Date;
}
export type AppPatch = Partial<Omit<AppRecord, 'packageName' | 'createdAt' | 'updatedAt'>>;

export interface InstalledApp {
  packageName: string;
  installedDate: Date;
}

export interface UserAppSettings {
  packageName: string;
  settings: SettingValue[];
}

export interface UserRecord {
  /** The user's email, lower-cased: the userId everywhere. */
  userId: string;
  installedApps: InstalledApp[];
  /** Apps to start again on the next fresh glasses connection. */
  runningApps: string[];
  /** Kept as a list, not a map: package names contain dots, which Mongo map keys cannot. */
  appSettings: UserAppSettings[];
  /**
   * The user's MentraOS settings as the phone writes them (`metric_system`, `default_wearable`, …): a flat map
   * whose keys never contain `.` or start with `$` (checked on write), so each is one path in either store.
   */
  userSettings: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export class DuplicateKeyError extends Error {
  constructor(readonly key: string) {
    super(`duplicate key: ${key}`);
    this.name = 'DuplicateKeyError';
  }
}

export interface AppRepository {
  findByPackageName(packageName: string): Promise<AppRecord | null>;
  list(): Promise<AppRecord[]>;
  /** Throws DuplicateKeyError when the package name exists. */
  create(app: NewApp): Promise<AppRecord>;
  /** Returns null when the app does not exist. */
  update(packageName: string, patch: AppPatch): Promise<AppRecord | null>;
  /** Returns whether an app was deleted. */
  delete(packageName: string): Promise<boolean>;
  /** The app's webview key pair; null when it has none yet or the app does not exist. */
  findWebviewKey(packageName: string): Promise<WebviewKeyPair | null>;
  /**
   * Compare-and-set: stores `next` only while the app's key pair is still `expected` (null: none yet), so
   * concurrent generators settle on one pair. Returns the pair the app has afterwards; null for an unknown app.
   */
  replaceWebviewKey(
    packageName: string,
    expected: WebviewKeyPair | null,
    next: WebviewKeyPair,
  ): Promise<WebviewKeyPair | null>;
}

export interface UserRepository {
  findById(userId: string): Promise<UserRecord | null>;
  /** Creates an empty user if none exists; atomic under concurrency (one record per userId). */
  findOrCreate(userId: string): Promise<UserRecord>;
  list(): Promise<UserRecord[]>;
  /** Idempotent. Creates the user if needed. */
  installApp(userId: string, packageName: string): Promise<UserRecord>;
  /** Also removes the package from runningApps and its settings. Returns null for an unknown user. */
  uninstallApp(userId: string, packageName: string): Promise<UserRecord | null>;
  /** Set semantics (no duplicates), atomic. Creates the user if needed. */
  addRunningApp(userId: string, packageName: string): Promise<void>;
  removeRunningApp(userId: string, packageName: string): Promise<void>;
  /** Replaces the stored values of one package for one user. Creates the user if needed. */
  setAppSettings(userId: string, packageName: string, settings: SettingValue[]): Promise<UserRecord>;
  /**
   * Merges `patch` into the user's MentraOS settings in one atomic update: a `null` (or `undefined`) value
   * removes its key. Creates the user if needed. Throws a TypeError for a key or value that cannot be stored.
   */
  updateUserSettings(userId: string, patch: Record<string, unknown>): Promise<UserRecord>;
  /** Removes the package from every user (installed, running, settings); used when an app is deleted. */
  removeAppEverywhere(packageName: string): Promise<void>;
  delete(userId: string): Promise<boolean>;
  /** The lowest core-token version still accepted for the user: 0 until first raised, and for unknown users. */
  findTokenVersion(userId: string): Promise<number>;
  /** Raises it to at least `atLeast` (never lowers it), creating the user if needed; returns the stored value. */
  raiseTokenVersion(userId: string, atLeast: number): Promise<number>;
}

export const APP_REPOSITORY = Symbol('APP_REPOSITORY');
export const USER_REPOSITORY = Symbol('USER_REPOSITORY');
