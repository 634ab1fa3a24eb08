import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import { USER_REPOSITORY, type UserRepository } from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { checkSettingsPatch, MAX_STORED_KEYS } from '../user-settings/user-settings.schema.js';
import { badRequest } from './client-input.js';

/** The phone's `/api/client/user/settings`: stored in the user record, then followed by the live session. */
@Injectable()
export class ClientSettingsService {
  private readonly logger = new Logger(ClientSettingsService.name);

  constructor(
    private readonly registry: SessionRegistry,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Optional() private readonly bus?: ClusterBus,
  ) {
    // Clustered, the phone's call may land on any process: the user's owner applies what the shared store holds.
    bus?.handle('user-settings.changed', async ({ userId, keys }) => {
      const session = this.registry.get(userId);
      if (!session) return { applied: false };
      session.userSettings.apply(await this.read(userId), keys);
      return { applied: true };
    });
  }

  async read(userId: string): Promise<Record<string, unknown>> {
    return (await this.users.findById(userId))?.userSettings ?? {};
  }

  /** Merges `settings` (null removes a key) and returns the user's whole map. */
  async update(userId: string, settings: unknown): Promise<Record<string, unknown>> {
    const check = checkSettingsPatch(settings);
    if (!check.ok) throw badRequest(check.problems);
    const current = await this.read(userId);
    let count = Object.keys(current).length;
    for (const [key, value] of Object.entries(check.patch)) {
      const removes = value === null || value === undefined;
      if (removes && Object.hasOwn(current, key)) count--;
      else if (!removes && !Object.hasOwn(current, key)) count++;
    }
    if (count > MAX_STORED_KEYS)
      throw badRequest(`A user keeps at most ${MAX_STORED_KEYS} settings; remove some (value null) first`);
    let stored: Record<string, unknown>;
    try {
      stored = (await this.users.updateUserSettings(userId, check.patch)).userSettings;
    } catch (err) {
      if (err instanceof TypeError) throw badRequest(err.message);
      throw err;
    }
    const session = this.registry.get(userId);
    if (session) session.userSettings.apply(stored, Object.keys(check.patch));
    else await this.applyOnOwner(userId, Object.keys(check.patch));
    return stored;
  }

  /** Clustered, when the user's session is not here: the process holding it applies the change. */
  private async applyOnOwner(userId: string, keys: string[]): Promise<void> {
    if (!this.bus) return;
    try {
      await this.bus.toOwner(userId, 'user-settings.changed', { userId, keys });
    } catch (err) {
      // No owner: no session to follow the change (a new one reads the stored settings).
      if (!(err instanceof CloudError && err.code === 'SESSION_NOT_FOUND'))
        this.logger.warn(`settings of ${userId} not applied on its process: ${errorMessage(err)}`);
    }
  }
}
