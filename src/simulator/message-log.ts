/**
 * Received-message history plus the promise-based waits on it.
 *
 * Positions are absolute ("the n-th message ever received"), so a `mark()` taken before an
 * action stays valid even after the history has been trimmed to its cap. That is what makes
 * `mark(); act(); waitFor(..., { since })` free of the race between the action's answer and
 * the start of the wait.
 */

export interface WaitOptions {
  /**
   * Also consider messages received at or after this position (from `mark()`; 0 = the whole
   * retained history). Without it only messages arriving after the call count.
   */
  since?: number;
  /** Defaults to the client's `timeoutMs` (5000 ms). */
  timeoutMs?: number;
}

interface Waiter<M> {
  what: string;
  test: (m: M) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class MessageLog<M> {
  private items: M[] = [];
  private trimmed = 0;
  private readonly waiters = new Set<Waiter<M>>();

  constructor(
    private readonly cap: number,
    /** What the timeout error reports as "last seen". */
    private readonly lastSeen: () => string,
  ) {}

  /** The retained history, oldest first. */
  get all(): readonly M[] {
    return this.items;
  }

  get pendingWaits(): number {
    return this.waiters.size;
  }

  /** Absolute position of the next message. */
  mark(): number {
    return this.trimmed + this.items.length;
  }

  since(position: number): M[] {
    return this.items.slice(Math.max(0, position - this.trimmed));
  }

  push(m: M): void {
    this.items.push(m);
    if (this.items.length > this.cap) {
      // Trim in batches of 10% so a long session does not shift the array on every message.
      const drop = this.items.length - Math.floor(this.cap * 0.9);
      this.items.splice(0, drop);
      this.trimmed += drop;
    }
    for (const w of [...this.waiters]) {
      let result: unknown;
      try {
        result = w.test(m);
      } catch (err) {
        // A throwing predicate fails its own wait, not message handling for everyone else.
        this.settle(w, () => w.reject(err instanceof Error ? err : new Error(String(err))));
        continue;
      }
      if (result !== undefined) this.settle(w, () => w.resolve(result));
    }
  }

  /**
   * Resolves with the first non-undefined `test` result, looking at history from
   * `opts.since` first and then at new messages.
   */
  wait<R>(what: string, test: (m: M) => R | undefined, opts: { since?: number; timeoutMs: number }): Promise<R> {
    // Inside the executor so a throwing predicate becomes a rejection, not a synchronous throw.
    return new Promise<R>((resolve, reject) => {
      if (opts.since !== undefined) {
        for (const m of this.since(opts.since)) {
          const hit = test(m);
          if (hit !== undefined) return resolve(hit);
        }
      }
      const waiter: Waiter<M> = {
        what,
        test,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter, () =>
            reject(
              new Error(`Timed out after ${opts.timeoutMs} ms waiting for ${what}. Last seen: ${this.lastSeen()}`),
            ),
          );
        }, opts.timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Fails every pending wait at once, e.g. because the socket closed and nothing more can arrive. */
  rejectAll(why: string): void {
    for (const w of [...this.waiters]) {
      this.settle(w, () => w.reject(new Error(`Stopped waiting for ${w.what}: ${why}`)));
    }
  }

  private settle(w: Waiter<M>, action: () => void): void {
    if (!this.waiters.delete(w)) return;
    clearTimeout(w.timer);
    action();
  }
}
