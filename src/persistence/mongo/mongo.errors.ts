/** MongoDB's duplicate-key error (E11000), as thrown by the driver for inserts and upserts. */
export function isDuplicateKeyError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === 11000 || code === 11001;
}

/**
 * Two concurrent upserts of one new key can both miss and both insert; MongoDB then fails one with E11000
 * even though the document exists by now, so that one is simply run again (it then matches and updates).
 */
export async function retryOnDuplicateKey<T>(operation: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (!isDuplicateKeyError(err) || attempt >= attempts) throw err;
    }
  }
}
