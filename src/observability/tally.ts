import type { Counter } from 'prom-client';

/**
 * A hot-path count: plain numbers bumped in place (`n`, and `bytes` where a size is counted too); their
 * growth moves into the Prometheus counters when `/metrics` is scraped.
 */
export class Cell {
  n = 0;
  bytes = 0;
  private seenN = 0;
  private seenBytes = 0;

  /** Growth of `n` since the last call. */
  take(): number {
    const d = this.n - this.seenN;
    this.seenN = this.n;
    return d;
  }

  /** Growth of `bytes` since the last call. */
  takeBytes(): number {
    const d = this.bytes - this.seenBytes;
    this.seenBytes = this.bytes;
    return d;
  }
}

/**
 * Cells of a labelled counter, found by a key the caller already has (no string is built per event).
 * `label(key)` turns a key into the label value once, when the key is first seen; past `maxLabels`
 * distinct keys everything else shares one `other` cell, so odd input cannot grow the series without bound.
 */
export class LabeledCells<K = string> {
  private readonly cells = new Map<K, { label: string; cell: Cell }>();
  private readonly other = { label: 'other', cell: new Cell() };

  constructor(
    private readonly label: (key: K) => string,
    private readonly maxLabels = 200,
  ) {}

  get(key: K): Cell {
    const found = this.cells.get(key);
    if (found !== undefined) return found.cell;
    if (this.cells.size >= this.maxLabels) return this.other.cell;
    const created = { label: this.label(key), cell: new Cell() };
    this.cells.set(key, created);
    return created.cell;
  }

  /** Adds each cell's growth (of `n`, or of `bytes`) since the last flush to `counter` under its label. */
  flushInto(counter: Counter<string>, labelName: string, what: 'n' | 'bytes' = 'n'): void {
    for (const { label, cell } of [...this.cells.values(), this.other]) {
      const d = what === 'n' ? cell.take() : cell.takeBytes();
      if (d > 0) counter.inc({ [labelName]: label }, d);
    }
  }
}
