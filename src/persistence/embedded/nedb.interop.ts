import nedb from '@seald-io/nedb';

/**
 * @seald-io/nedb is CommonJS (`module.exports = Datastore`) but its typings declare `export default`. Under
 * NodeNext that makes TypeScript see the class one `.default` deeper than Node's ESM loader delivers it, so
 * the value is resolved at runtime and typed from the declarations.
 */
type DatastoreClass = typeof nedb.default;
const loaded = nedb as unknown as DatastoreClass & { default?: DatastoreClass };

export const Datastore: DatastoreClass = loaded.default ?? loaded;
export type Datastore<T extends object> = nedb.default<T>;

/** nedb's unique-index violation carries `errorType: 'uniqueViolated'`. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errorType?: unknown }).errorType === 'uniqueViolated';
}
