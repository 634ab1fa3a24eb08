/**
 * Runs tasks with the same key one after another (different keys run in parallel). The simple storage
 * repositories put their compare-and-swap writes behind it: the CAS alone is correct, but with many writers
 * of one store in one process they would mostly retry each other; queued, they almost never have to (other
 * cloud instances sharing a MongoDB still only meet the CAS). Entries are dropped once a key's queue drains.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
