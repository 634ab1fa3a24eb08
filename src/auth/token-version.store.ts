import { Inject, Injectable } from '@nestjs/common';
import { USER_REPOSITORY, type UserRepository } from '../persistence/persistence.types.js';

/**
 * Where each user's minimum core-token version lives. A token whose `tv` claim is below it (a token without
 * `tv` counts as 0) is refused. Every instance of the cloud must read the same value; a store shared by several
 * instances must also tell the others when a version rises, so they close their sockets of that user.
 */
export interface TokenVersionStore {
  /** The lowest accepted version; 0 until the first revoke. */
  minimum(userId: string): Promise<number>;
  /** Raises the minimum to at least `atLeast` (never lowers it); returns the stored minimum. */
  raise(userId: string, atLeast: number): Promise<number>;
}

export const TOKEN_VERSION_STORE = Symbol('TOKEN_VERSION_STORE');

/** The default store: the minimum kept in the user's record (embedded store or MongoDB). */
@Injectable()
export class UserRecordTokenVersions implements TokenVersionStore {
  constructor(@Inject(USER_REPOSITORY) private readonly users: UserRepository) {}

  minimum(userId: string): Promise<number> {
    return this.users.findTokenVersion(userId);
  }

  raise(userId: string, atLeast: number): Promise<number> {
    return this.users.raiseTokenVersion(userId, atLeast);
  }
}
