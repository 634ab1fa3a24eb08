import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { errorMessage } from '../common/cloud-error.js';
import { DeviceManager } from '../device/device-manager.js';
import { USER_REPOSITORY, type UserRepository } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { buildMentraosSettings } from './user-settings.schema.js';

const wearableOf = (settings: Record<string, unknown>): string | null =>
  typeof settings.default_wearable === 'string' && settings.default_wearable.length > 0
    ? settings.default_wearable
    : null;

/**
 * The user's MentraOS settings in a live session: loaded when the session starts, followed after every
 * change the phone stores. `default_wearable` sets the device model (until the glasses report theirs), and
 * a change of what apps see goes to every connected app as `augmentos_settings_update`.
 */
// A user without settings (most) shares these two: neither is ever changed in place (only replaced), and a
// copy per session was ~180 bytes of every session's heap.
const NO_SETTINGS: Record<string, unknown> = Object.freeze({});
const DEFAULT_MENTRAOS: Record<string, unknown> = Object.freeze(buildMentraosSettings({}));

@Injectable({ scope: Scope.REQUEST })
export class UserSettingsManager {
  private settings: Record<string, unknown> = NO_SETTINGS;
  private mentraos: Record<string, unknown> = DEFAULT_MENTRAOS;
  /** Bumped by every applied change, so a slow initial load never overwrites a newer one. */
  private version = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly device: DeviceManager,
    private readonly connections: AppConnections,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
  ) {
    void this.load();
  }

  /** The whole stored map (snake_case keys). */
  get current(): Record<string, unknown> {
    return { ...this.settings };
  }

  /** What apps get as `mentraosSettings`. */
  get mentraosSettings(): Record<string, unknown> {
    return { ...this.mentraos };
  }

  private async load(): Promise<void> {
    const version = this.version;
    try {
      const user = await this.users.findById(this.ctx.userId);
      if (this.version !== version || this.ctx.isDisposed || !user) return;
      const stored = user.userSettings;
      if (stored && Object.keys(stored).length > 0) {
        this.settings = { ...stored };
        this.mentraos = buildMentraosSettings(this.settings);
      }
      const wearable = wearableOf(this.settings);
      if (wearable) this.device.setDefaultModel(wearable);
    } catch (err) {
      this.ctx.logger.error(`loading the user settings of ${this.ctx.userId} failed: ${errorMessage(err)}`);
    }
  }

  /**
   * After a change was stored: `stored` is the user's whole map as it now is, `changedKeys` the keys the
   * change named. Apps are told only when what they see changed.
   */
  apply(stored: Record<string, unknown>, changedKeys: readonly string[]): void {
    if (this.ctx.isDisposed) return;
    this.version++;
    this.settings = { ...stored };
    if (changedKeys.includes('default_wearable')) this.device.setDefaultModel(wearableOf(stored));
    const next = buildMentraosSettings(stored);
    if (JSON.stringify(next) === JSON.stringify(this.mentraos)) return;
    this.mentraos = next;
    this.broadcast();
  }

  /**
   * To every app with an open socket, not only to `augmentos:<key>` subscribers: SDK 2.1.29's
   * `onMentraosSettingChange` never sends that subscription (its subscriptions come from event handlers
   * only), yet it applies every `augmentos_settings_update` it receives.
   */
  private broadcast(): void {
    const timestamp = new Date().toISOString();
    for (const rt of this.connections.values()) {
      this.connections.sendJson(rt.packageName, {
        type: 'augmentos_settings_update',
        sessionId: rt.sessionId,
        settings: this.mentraos,
        timestamp,
      });
    }
  }
}
