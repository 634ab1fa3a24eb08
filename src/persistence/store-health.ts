/**
 * Health of the active store, for readiness checks. Abstract so it doubles as the injection token: inject
 * `StoreHealth` and get whichever implementation PersistenceModule chose.
 */
export abstract class StoreHealth {
  abstract readonly kind: 'embedded' | 'mongo' | 'redis';
  /** True when the store can serve reads and writes right now; never throws, never hangs for long. */
  abstract ping(): Promise<boolean>;
}
