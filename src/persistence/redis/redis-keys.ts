/**
 * Every key the Redis store uses, built here and nowhere else. User ids and package names are user data: a
 * `:` or `%` in one must not let it reach another record's key (`a:b` as a user id next to `a` with a
 * suffix), so each one goes through `keyPart`, an injective escape that leaves no `:` in its output.
 */

/** Common prefix: the store's keys sit apart from anything else kept in the same Redis database. */
export const STORE_PREFIX = 'mentra:store:';

/**
 * Escapes everything but `[A-Za-z0-9._@+-]` as `%` + four hex digits of the UTF-16 code unit. Injective (the
 * escapes have a fixed length and `%` is escaped too), total (lone surrogates included), and emails and
 * package names stay readable in `redis-cli`.
 */
export function keyPart(value: string): string {
  return value.replace(/[^A-Za-z0-9._@+-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The inverse of keyPart: index sets hold escaped ids (Redis would turn a lone surrogate into U+FFFD). */
export function fromKeyPart(part: string): string {
  return part.replace(/%([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export const redisKeys = {
  /** Hash {v, doc}: one app. */
  app: (packageName: string): string => `${STORE_PREFIX}app:${keyPart(packageName)}`,
  /** Set of every stored package name, escaped by keyPart (apps.list without scanning keys). */
  apps: `${STORE_PREFIX}apps`,
  /** Hash {v, doc}: one user. */
  user: (userId: string): string => `${STORE_PREFIX}user:${keyPart(userId)}`,
  /** Set of every stored userId, escaped by keyPart. */
  users: `${STORE_PREFIX}users`,
  /**
   * Set of the userIds (escaped by keyPart) whose record mentions the package, installed, running or in
   * settings: removeAppEverywhere's index.
   */
  packageUsers: (packageName: string): string => `${STORE_PREFIX}package-users:${keyPart(packageName)}`,
  /** Hash {v, doc}: the simple storage of one (user, package). */
  simpleStorage: (userId: string, packageName: string): string =>
    `${STORE_PREFIX}simple-storage:${keyPart(userId)}:${keyPart(packageName)}`,
  /** Set of the userIds (escaped by keyPart) with simple storage of the package: its per-package user quota. */
  simpleStorageUsers: (packageName: string): string => `${STORE_PREFIX}simple-storage-users:${keyPart(packageName)}`,
} as const;
