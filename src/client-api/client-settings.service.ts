import { Inject, Injectable } from '@nestjs/common';
import { USER_REPOSITORY, type UserRepository } from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { checkSettingsPatch, MAX_STORED_KEYS } from '../user-settings/user-settings.schema.js';
import { badRequest } from './client-input.js';

/** The phone's `/api/client/user/settings`: stored in the user record, then followed by the live session. */
@Injectable()
export class ClientSettingsService {
  constructor(
    private readonly registry: SessionRegistry,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
  ) {}

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
    this.registry.get(userId)?.userSettings.apply(stored, Object.keys(check.patch));
    return stored;
  }
}
