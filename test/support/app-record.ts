import type { AppRecord } from '../../src/persistence/persistence.types.js';

const EPOCH = new Date('2025-01-01T00:00:00.000Z');

/** A stored app as the managers' unit tests need it: a background app with no permissions unless `fields` say otherwise. */
export function appRecord(packageName: string, fields: Partial<AppRecord> = {}): AppRecord {
  return {
    packageName,
    name: packageName,
    publicUrl: 'http://apps.invalid',
    appType: 'background',
    permissions: [],
    hardwareRequirements: [],
    settings: [],
    hashedApiKey: '0'.repeat(64),
    createdAt: EPOCH,
    updatedAt: EPOCH,
    ...fields,
  } as AppRecord;
}
