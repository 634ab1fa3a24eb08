/**
 * A Map / Set that allocates its table on the first insert. An empty `new Map()` already holds a hash table
 * (~200 bytes); a session has a score of per-concern tables (pending photos, boot screens, LED requests…)
 * that most sessions never fill, and at thousands of sessions those empty tables were a fifth of the heap
 * per session. Reads of an empty one allocate nothing (iteration excepted). Unlike a Map, an entry added
 * while iterating one that was just emptied is not visited (the emptied table was dropped).
 */
const EMPTY_MAP: ReadonlyMap<unknown, unknown> = new Map();
const EMPTY_SET: ReadonlySet<unknown> = new Set();

export class LazyMap<K, V> implements Iterable<[K, V]> {
  // Assigned here so the field is in the object from the start (added later it costs a property array).
  private map: Map<K, V> | undefined = undefined;

  get size(): number {
    return this.map === undefined ? 0 : this.map.size;
  }

  get(key: K): V | undefined {
    return this.map === undefined ? undefined : this.map.get(key);
  }

  has(key: K): boolean {
    return this.map !== undefined && this.map.has(key);
  }

  set(key: K, value: V): this {
    (this.map ??= new Map()).set(key, value);
    return this;
  }

  /** Dropping the last entry drops the table too. */
  delete(key: K): boolean {
    if (this.map === undefined || !this.map.delete(key)) return false;
    if (this.map.size === 0) this.map = undefined;
    return true;
  }

  clear(): void {
    this.map?.clear(); // ends an iteration in progress, as Map#clear does
    this.map = undefined;
  }

  keys(): IterableIterator<K> {
    return (this.map ?? (EMPTY_MAP as ReadonlyMap<K, V>)).keys();
  }

  values(): IterableIterator<V> {
    return (this.map ?? (EMPTY_MAP as ReadonlyMap<K, V>)).values();
  }

  entries(): IterableIterator<[K, V]> {
    return (this.map ?? (EMPTY_MAP as ReadonlyMap<K, V>)).entries();
  }

  forEach(fn: (value: V, key: K) => void): void {
    this.map?.forEach(fn);
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}

export class LazySet<T> implements Iterable<T> {
  private set: Set<T> | undefined = undefined;

  get size(): number {
    return this.set === undefined ? 0 : this.set.size;
  }

  has(value: T): boolean {
    return this.set !== undefined && this.set.has(value);
  }

  add(value: T): this {
    (this.set ??= new Set()).add(value);
    return this;
  }

  /** Dropping the last value drops the table too. */
  delete(value: T): boolean {
    if (this.set === undefined || !this.set.delete(value)) return false;
    if (this.set.size === 0) this.set = undefined;
    return true;
  }

  clear(): void {
    this.set?.clear();
    this.set = undefined;
  }

  values(): IterableIterator<T> {
    return (this.set ?? (EMPTY_SET as ReadonlySet<T>)).values();
  }

  forEach(fn: (value: T) => void): void {
    this.set?.forEach(fn);
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.values();
  }
}
