import { BadRequestException, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { mergeSettings } from '../apps/app-settings.js';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { appSessionId } from '../common/app-session-id.js';
import type { CloudToAppMessage } from '../protocol/app.types.js';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { assertStorable } from '../persistence/key.guard.js';
import { KeyedMutex } from '../persistence/keyed-mutex.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRecord,
  type AppRepository,
  type AppSettingSchemaEntry,
  type SettingValue,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';

export type MergedSettings = Array<AppSettingSchemaEntry & SettingValue>;

/** Upstream's old dashboard package name; the settings routes accept it for the system dashboard. */
const LEGACY_DASHBOARD_PACKAGE = 'com.augmentos.dashboard';
/** The app server's POST /settings must not hold anything up; it is a courtesy copy of what the socket got. */
const APP_SERVER_TIMEOUT_MS = 5_000;
const MAX_SETTINGS_PER_UPDATE = 200;
/** A single value's JSON size; settings are toggles, choices and short texts. */
const MAX_VALUE_JSON_CHARS = 16_384;
const NO_APP_HASH = sha256Hex('no app has this key');

export interface SettingsChange {
  /** `replace`: the given values become the user's values (admin PUT). `merge`: they update the stored ones (phone). */
  mode: 'replace' | 'merge';
  /** Also POST `${publicUrl}/settings` to the app server, as upstream does for the phone's changes. */
  notifyAppServer: boolean;
}

export interface SettingsResult {
  packageName: string;
  settings: MergedSettings;
  /** Whether a running app got the settings_update over its socket just now. */
  delivered: boolean;
}

/**
 * A user's values for an app's settings: read merged over the schema defaults, changed from the admin API or
 * the phone, and pushed to the running app at once (`settings_update`).
 */
@Injectable()
export class AppSettingsService {
  private readonly logger = new Logger(AppSettingsService.name);
  /** Read-modify-write of one user's settings of one app, one at a time (a merge must not lose a concurrent one). */
  private readonly writers = new KeyedMutex();

  constructor(
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: SessionRegistry,
    @Optional() private readonly bus?: ClusterBus,
  ) {
    // Clustered, the change may arrive on any process: the user's owner pushes what the shared store now holds.
    bus?.handle('app.settings-changed', async ({ userId, packageName }) => {
      if (!this.registry.get(userId)) return { delivered: false };
      const { settings } = await this.read(userId, packageName);
      return { delivered: this.push(userId, packageName, settings) };
    });
  }

  /** The package a settings route means: the legacy dashboard name stands for the configured system dashboard. */
  resolvePackageName(packageName: string): string {
    return packageName === LEGACY_DASHBOARD_PACKAGE ? this.config.systemDashboardPackage : packageName;
  }

  /**
   * Whether the app is starting or running in the user's live session: the only time the SDK's own credential
   * (`Bearer <userId>-<packageName>`, which anyone who knows an email can write) is accepted.
   */
  isStartingOrRunning(userId: string, packageName: string): boolean {
    const state = this.registry.get(userId)?.connections.get(this.resolvePackageName(packageName))?.state;
    return state !== undefined && state !== 'stopping';
  }

  /** Whether `apiKey` is the key of the package (constant-time on the hashes; an unknown package costs the same). */
  async apiKeyMatches(packageName: string, apiKey: string): Promise<boolean> {
    const app = await this.apps.findByPackageName(this.resolvePackageName(packageName));
    return safeEqual(sha256Hex(apiKey), app?.hashedApiKey ?? NO_APP_HASH) && app !== null;
  }

  /** The merged settings of an app the user has installed (or is running); 404 otherwise. */
  async read(userId: string, packageName: string): Promise<SettingsResult> {
    const app = await this.appFor(userId, packageName);
    const user = await this.users.findById(userId);
    const values = user?.appSettings.find((s) => s.packageName === app.packageName)?.settings;
    return { packageName: app.packageName, settings: mergeSettings(app.settings, values), delivered: false };
  }

  async update(
    userId: string,
    packageName: string,
    values: SettingValue[],
    change: SettingsChange,
  ): Promise<SettingsResult> {
    const app = await this.appFor(userId, packageName);
    checkValues(app, values);
    const merged = await this.writers.run(JSON.stringify([userId, app.packageName]), async () => {
      let next = values.map((v) => ({ key: v.key, value: v.value }));
      if (change.mode === 'merge') {
        const stored =
          (await this.users.findById(userId))?.appSettings.find((s) => s.packageName === app.packageName)?.settings ??
          [];
        const byKey = new Map(stored.map((s) => [s.key, s.value]));
        for (const v of next) byKey.set(v.key, v.value);
        next = Array.from(byKey, ([key, value]) => ({ key, value }));
      }
      const user = await this.users.setAppSettings(userId, app.packageName, next);
      return mergeSettings(app.settings, user.appSettings.find((s) => s.packageName === app.packageName)?.settings);
    });
    const delivered = this.push(userId, app.packageName, merged) || (await this.pushOnOwner(userId, app.packageName));
    if (change.notifyAppServer) this.notifyAppServer(app, userId, merged);
    return { packageName: app.packageName, settings: merged, delivered };
  }

  /** settings_update to the app's open socket in the user's live session, if there is one. */
  private push(userId: string, packageName: string, settings: MergedSettings): boolean {
    const message: CloudToAppMessage<'settings_update'> = {
      type: 'settings_update',
      packageName,
      sessionId: appSessionId(userId, packageName),
      settings,
      timestamp: new Date().toISOString(),
    };
    return this.registry.get(userId)?.connections.sendJson(packageName, message) ?? false;
  }

  /** Clustered, when the user's session is not here: the process that holds it pushes the change. */
  private async pushOnOwner(userId: string, packageName: string): Promise<boolean> {
    if (!this.bus || this.registry.get(userId)) return false;
    try {
      return (await this.bus.toOwner(userId, 'app.settings-changed', { userId, packageName })).result.delivered;
    } catch (err) {
      // No owner: no running app to tell (it reads the stored settings when it starts).
      if (!(err instanceof CloudError && err.code === 'SESSION_NOT_FOUND'))
        this.logger.warn(`settings of ${packageName} for ${userId} not pushed to its process: ${errorMessage(err)}`);
      return false;
    }
  }

  /** Fire-and-forget POST `${publicUrl}/settings` `{userIdForSettings, settings}` (the SDK's AppServer route). */
  private notifyAppServer(app: AppRecord, userId: string, settings: MergedSettings): void {
    const url = `${app.publicUrl.replace(/\/+$/, '')}/settings`;
    void fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userIdForSettings: userId, settings }),
      signal: AbortSignal.timeout(APP_SERVER_TIMEOUT_MS),
      redirect: 'manual',
    })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) this.logger.debug(`POST ${url} answered HTTP ${res.status}`);
      })
      .catch((err: unknown) => this.logger.debug(`POST ${url} failed: ${errorMessage(err)}`));
  }

  private async appFor(userId: string, packageName: string): Promise<AppRecord> {
    const app = await this.apps.findByPackageName(this.resolvePackageName(packageName));
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    const user = await this.users.findById(userId);
    const installed = user?.installedApps.some((a) => a.packageName === app.packageName) ?? false;
    if (!installed && !this.registry.get(userId)?.connections.isRunning(app.packageName)) {
      throw new CloudError('APP_NOT_FOUND', `App ${packageName} is not installed for ${userId}`);
    }
    return app;
  }
}

/** Keys must be in the app's schema (anything else would be stored but never shown); values plain JSON. */
function checkValues(app: AppRecord, values: SettingValue[]): void {
  if (values.length > MAX_SETTINGS_PER_UPDATE) {
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: `At most ${MAX_SETTINGS_PER_UPDATE} settings per update`,
    });
  }
  const known = new Set(app.settings.filter((s) => s.type !== 'group' && typeof s.key === 'string').map((s) => s.key!));
  const unknown = values.filter((v) => !known.has(v.key)).map((v) => v.key);
  if (unknown.length > 0) {
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: `${app.packageName} has no setting ${unknown
        .slice(0, 10)
        .map((k) => JSON.stringify(k))
        .join(', ')}`,
    });
  }
  for (const v of values) {
    if (v.value === undefined)
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: `The setting ${JSON.stringify(v.key)} needs a value`,
      });
    try {
      assertStorable(v.value, `settings[${JSON.stringify(v.key)}]`);
    } catch (err) {
      throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: errorMessage(err) });
    }
    if ((JSON.stringify(v.value) ?? '').length > MAX_VALUE_JSON_CHARS) {
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: `The value of ${JSON.stringify(v.key)} is over ${MAX_VALUE_JSON_CHARS} characters of JSON`,
      });
    }
  }
}
