/** A webview temporary token's claim: who it names, for which app, until when. */
export interface TempTokenEntry {
  userId: string;
  packageName: string;
  expiresAt: number;
}

/**
 * Outstanding webview temporary tokens (issued, neither exchanged nor expired). Behind an interface so that
 * several processes can share them in one store (an exchange may reach another process than the issue).
 */
export interface TempTokenStore {
  /** Keeps `token`, unless its user already holds `maxPerUser` unexpired tokens (then false, nothing kept). */
  add(token: string, entry: TempTokenEntry, maxPerUser: number, now: number): Promise<boolean>;
  /** Removes the token and returns what it named: single use, whatever the caller decides next. */
  take(token: string): Promise<TempTokenEntry | null>;
  /** Drops every expired token. */
  sweep(now: number): Promise<void>;
}

export const TEMP_TOKEN_STORE = Symbol('TEMP_TOKEN_STORE');

/** Past this many tokens in all, an add sweeps the expired ones first (a backstop; the per-user cap comes first). */
const SWEEP_ABOVE = 100_000;

export class MemoryTempTokenStore implements TempTokenStore {
  private readonly tokens = new Map<string, TempTokenEntry>();
  private readonly byUser = new Map<string, Set<string>>();

  add(token: string, entry: TempTokenEntry, maxPerUser: number, now: number): Promise<boolean> {
    if (this.tokens.size >= SWEEP_ABOVE) this.sweepSync(now);
    let held = this.byUser.get(entry.userId);
    if (held) {
      for (const t of held) {
        const e = this.tokens.get(t);
        if (!e || e.expiresAt < now) this.remove(t);
      }
      held = this.byUser.get(entry.userId);
    }
    if (held && held.size >= maxPerUser) return Promise.resolve(false);
    this.tokens.set(token, entry);
    if (held) held.add(token);
    else this.byUser.set(entry.userId, new Set([token]));
    return Promise.resolve(true);
  }

  take(token: string): Promise<TempTokenEntry | null> {
    const entry = this.tokens.get(token) ?? null;
    if (entry) this.remove(token);
    return Promise.resolve(entry);
  }

  sweep(now: number): Promise<void> {
    this.sweepSync(now);
    return Promise.resolve();
  }

  get size(): number {
    return this.tokens.size;
  }

  private sweepSync(now: number): void {
    for (const [t, e] of this.tokens) if (e.expiresAt < now) this.remove(t);
  }

  private remove(token: string): void {
    const entry = this.tokens.get(token);
    this.tokens.delete(token);
    if (!entry) return;
    const held = this.byUser.get(entry.userId);
    held?.delete(token);
    if (held?.size === 0) this.byUser.delete(entry.userId);
  }
}
