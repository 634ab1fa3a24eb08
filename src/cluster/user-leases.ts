import { Logger } from '@nestjs/common';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import type { ClusterConfig } from '../config/config.types.js';
import { KEYS } from './keys.js';
import { defineLeaseCommands, type LeaseCommands, type LeasePipeline } from './lease.scripts.js';
import type { NodeIdentity } from './node-identity.js';
import type { RedisLink } from './redis-link.js';

/** Who holds a user's lease, read from its value `<token>|<nodeId>`. */
export interface LeaseHolder {
  nodeId: string;
  token: number;
  /** The raw value: what a take-over must name to replace exactly this holder. */
  value: string;
}

export type AcquireResult = { ok: true; token: number } | { ok: false; holder: LeaseHolder };

/** Told when another process holds a lease this process owned (after an outage, or a take-over). */
export type LostListener = (userId: string, holder: LeaseHolder) => void;

/** Commands a fenced write may run; each names one key (its first argument). */
export const FENCED_COMMANDS = [
  'SET',
  'DEL',
  'HSET',
  'HDEL',
  'SADD',
  'SREM',
  'RPUSH',
  'LTRIM',
  'ZADD',
  'ZREM',
  'PEXPIRE',
] as const;
export type FencedCommand = [command: (typeof FENCED_COMMANDS)[number], key: string, ...args: Array<string | number>];

export interface RenewReport {
  renewed: number;
  /** Leases that were gone from Redis (expired during an outage, or Redis lost them) and were taken again. */
  retaken: number;
  lost: number;
}

/** Per user: renewed, gone from Redis, or the holder found instead (null: unreadable). */
type RenewResult = 1 | 0 | LeaseHolder | null;

/** Users per Lua call in the batched renewal; all chunks go in one pipeline. */
const RENEW_CHUNK = 500;

export function parseHolder(value: string): LeaseHolder | null {
  const bar = value.indexOf('|');
  const token = Number(value.slice(0, bar));
  if (bar <= 0 || !Number.isSafeInteger(token)) return null;
  return { nodeId: value.slice(bar + 1), token, value };
}

/**
 * A Redis lease per user: the truth about which process owns a user's session. Taken with set-if-absent and
 * an expiry, fenced by a token from one INCR counter, renewed for every owned user in one pipeline per
 * LEASE_RENEW_MS (never a timer per user). Ownership is also kept in memory, so hot paths ask `isOwned`
 * without Redis. While Redis is away the process keeps its users (renewals fail, `degraded` is true); when it
 * is back the next batch renews, or takes again, every lease, and reports the ones another process holds now.
 */
export class UserLeases {
  private readonly logger = new Logger('Cluster');
  private readonly redis: ReturnType<typeof defineLeaseCommands>;
  private readonly held = new Map<string, LeaseHolder>();
  private readonly lostListeners = new Set<LostListener>();
  /** The largest token seen: a counter that went back (Redis restarted without its data) never hands out a smaller one. */
  private floor = 0;
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<RenewReport> | null = null;
  private lastRenewFailed = false;

  constructor(
    private readonly link: RedisLink,
    private readonly node: NodeIdentity,
    private readonly config: ClusterConfig,
  ) {
    this.redis = defineLeaseCommands(link.commands);
    // Back from an outage: renew (or re-take) at once rather than at the next period.
    link.onUp(() => void this.renewNow().catch(() => undefined));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renewNow().catch(() => undefined), this.config.leaseRenewMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Leases held in memory: every owned user, also while Redis is away. */
  get count(): number {
    return this.held.size;
  }

  /** True when the last renewal failed or Redis is away: the leases may have expired meanwhile. */
  get degraded(): boolean {
    return this.lastRenewFailed || !this.link.up;
  }

  /** Sync, no Redis: for hot paths and connection checks. */
  isOwned(userId: string): boolean {
    return this.held.has(userId);
  }

  /** The fence token this process holds for the user, if it owns it. */
  token(userId: string): number | undefined {
    return this.held.get(userId)?.token;
  }

  owned(): IterableIterator<string> {
    return this.held.keys();
  }

  onLost(listener: LostListener): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /**
   * Takes the user's lease if nobody holds it (or confirms this process's own). `{ok:false, holder}` names the
   * live owner: the caller routes to it or asks it to hand over. Throws CLUSTER_UNAVAILABLE when Redis is away.
   */
  async acquire(userId: string): Promise<AcquireResult> {
    const mine = this.held.get(userId);
    if (mine) {
      const {
        results: [result],
      } = await this.renewBatch([userId]).catch((err: unknown) => this.unavailable(err));
      if (result === 1) return { ok: true, token: mine.token };
      // Gone or taken: fall through to a fresh attempt (renewBatch already dropped it when taken).
      if (result === null) throw new CloudError('INTERNAL_ERROR', `the lease of ${userId} holds an unreadable value`);
      if (result !== 0) {
        const now = this.held.get(userId);
        return now?.value === result.value ? { ok: true, token: now.token } : { ok: false, holder: result };
      }
    }
    const [won, value] = await this.redis
      .leaseAcquire(KEYS.lease(userId), KEYS.fence, this.node.nodeId, this.config.leaseTtlMs, this.floor)
      .catch((err: unknown) => this.unavailable(err));
    return this.settle(userId, won, value);
  }

  /**
   * Replaces `from` (a holder whose node is gone from the node list, or that agreed to hand over) without waiting
   * for its lease to expire. Refused when the lease changed meanwhile: someone else was faster.
   */
  async takeOver(userId: string, from: LeaseHolder): Promise<AcquireResult> {
    const [won, value] = await this.redis
      .leaseTakeOver(
        KEYS.lease(userId),
        KEYS.fence,
        this.node.nodeId,
        this.config.leaseTtlMs,
        Math.max(this.floor, from.token),
        from.value,
      )
      .catch((err: unknown) => this.unavailable(err));
    return this.settle(userId, won, value);
  }

  private settle(userId: string, won: 0 | 1, value: string): AcquireResult {
    const holder = parseHolder(value);
    if (!holder) throw new CloudError('INTERNAL_ERROR', `the lease of ${userId} holds an unreadable value`);
    this.floor = Math.max(this.floor, holder.token);
    if (won === 1) {
      this.held.set(userId, holder);
      return { ok: true, token: holder.token };
    }
    if (this.held.get(userId)?.value === value) return { ok: true, token: holder.token };
    // Held in memory under an older value: another process has it now.
    if (this.held.has(userId)) this.lose(userId, holder);
    return { ok: false, holder };
  }

  /** Ends this process's ownership (the session ended or moved); true when Redis still had it. */
  async release(userId: string): Promise<boolean> {
    const mine = this.held.get(userId);
    if (!mine) return false;
    this.held.delete(userId);
    const n = await this.redis.leaseRelease(KEYS.lease(userId), mine.value).catch((err: unknown) => {
      this.logger.warn(`releasing the lease of ${userId} failed (it expires on its own): ${errorMessage(err)}`);
      return 0;
    });
    return n === 1;
  }

  /** Every lease at once (graceful shutdown), in one pipeline. */
  async releaseAll(): Promise<void> {
    const mine = [...this.held.entries()];
    this.held.clear();
    if (mine.length === 0 || !this.link.up) return;
    const pipeline = this.link.commands.pipeline() as unknown as LeaseCommands & LeasePipeline;
    for (const [userId, h] of mine) void pipeline.leaseRelease(KEYS.lease(userId), h.value);
    await pipeline.exec().catch(() => undefined);
  }

  /** Who owns the user right now (Redis's answer, not this process's memory); null when nobody does. */
  async owner(userId: string): Promise<LeaseHolder | null> {
    const value = await this.link.commands.get(KEYS.lease(userId)).catch((err: unknown) => this.unavailable(err));
    if (value === null) return null;
    const holder = parseHolder(value);
    if (holder) this.floor = Math.max(this.floor, holder.token);
    return holder;
  }

  /**
   * Runs `commands` atomically only while this process still holds the user's lease with the token it took:
   * false (nothing written) for a stale owner. Each command names its key first.
   */
  async fencedWrite(userId: string, commands: FencedCommand[]): Promise<boolean> {
    const mine = this.held.get(userId);
    if (!mine) return false;
    const keys: string[] = [KEYS.lease(userId)];
    const args: Array<string | number> = [mine.value];
    for (const [name, key, ...rest] of commands) {
      if (!(FENCED_COMMANDS as readonly string[]).includes(name))
        throw new CloudError('INTERNAL_ERROR', `${name} is not a fenced write command`);
      keys.push(key);
      args.push(name, rest.length, ...rest);
    }
    const done = await this.redis
      .leaseFencedWrite(keys.length, ...keys, ...args)
      .catch((err: unknown) => this.unavailable(err));
    return done === 1;
  }

  /**
   * The periodic batch: every owned lease renewed in one pipeline. A lease that is gone is taken again; one
   * another process holds is dropped and reported to the onLost listeners. Concurrent calls share one batch.
   */
  renewNow(): Promise<RenewReport> {
    if (this.renewing) return this.renewing;
    const run = this.renewAll().finally(() => (this.renewing = null));
    this.renewing = run;
    return run;
  }

  private async renewAll(): Promise<RenewReport> {
    const users = [...this.held.keys()];
    const report: RenewReport = { renewed: 0, retaken: 0, lost: 0 };
    if (users.length === 0) {
      this.lastRenewFailed = !this.link.up;
      return report;
    }
    let results: RenewResult[];
    let sent: string[];
    try {
      ({ results, sent } = await this.renewBatch(users));
    } catch (err) {
      if (!this.lastRenewFailed)
        this.logger.warn(`renewing ${users.length} leases failed, keeping the sessions: ${errorMessage(err)}`);
      this.lastRenewFailed = true;
      throw err;
    }
    this.lastRenewFailed = false;
    const gone: Array<[userId: string, sent: string]> = [];
    results.forEach((r, i) => {
      if (r === 1) report.renewed++;
      else if (r === 0) gone.push([users[i]!, sent[i]!]);
      else if (r !== null && r.nodeId !== this.node.nodeId) report.lost++; // renewBatch dropped it, told the listeners
    });
    for (const [userId, value] of gone) {
      const previous = this.held.get(userId);
      // Released, or released and taken again, while the batch was out: nothing to re-take.
      if (!previous || previous.value !== value) continue;
      this.held.delete(userId);
      let again: AcquireResult;
      try {
        again = await this.acquire(userId);
      } catch {
        // Redis went away in the middle: keep the user, the next batch tries again.
        this.held.set(userId, previous);
        this.lastRenewFailed = true;
        continue;
      }
      if (again.ok) report.retaken++;
      else {
        report.lost++;
        this.notifyLost(userId, again.holder);
      }
    }
    return report;
  }

  /**
   * One pipeline, one Lua call per chunk; per user 1 (renewed), 0 (gone) or the holder found instead (a value
   * that is not the one sent). A user whose lease changed in memory while the batch was out (released, or taken
   * again by this process) is left alone.
   */
  private async renewBatch(users: string[]): Promise<{ results: RenewResult[]; sent: string[] }> {
    const sent = users.map((u) => this.held.get(u)?.value ?? '');
    const pipeline = this.link.commands.pipeline() as unknown as LeasePipeline;
    for (let i = 0; i < users.length; i += RENEW_CHUNK) {
      const args: Array<string | number> = users.slice(i, i + RENEW_CHUNK).map((u) => KEYS.lease(u));
      const n = args.length;
      args.push(this.config.leaseTtlMs, ...sent.slice(i, i + RENEW_CHUNK));
      pipeline.leaseRenewMany(n, ...args);
    }
    const replies = await pipeline.exec();
    if (!replies) throw new CloudError('CLUSTER_UNAVAILABLE', 'Redis did not run the lease renewal');
    const out: RenewResult[] = [];
    for (const [err, reply] of replies) {
      if (err) throw err;
      for (const r of reply as Array<number | string>) {
        if (r === 1 || r === 0) out.push(r);
        else {
          const holder = parseHolder(String(r));
          out.push(holder);
        }
      }
    }
    out.forEach((r, i) => {
      if (r !== 1 && r !== 0 && r !== null && this.held.get(users[i]!)?.value === sent[i]) this.lose(users[i]!, r);
    });
    return { results: out, sent };
  }

  private lose(userId: string, holder: LeaseHolder): void {
    this.held.delete(userId);
    this.notifyLost(userId, holder);
  }

  private notifyLost(userId: string, holder: LeaseHolder): void {
    this.floor = Math.max(this.floor, holder.token);
    this.logger.warn(`lost the lease of ${userId}: now held by ${holder.nodeId} #${holder.token}`);
    for (const l of this.lostListeners) {
      try {
        l(userId, holder);
      } catch (err) {
        this.logger.error(`a lease-lost listener failed: ${errorMessage(err)}`);
      }
    }
  }

  private unavailable(err: unknown): never {
    if (err instanceof CloudError) throw err;
    throw new CloudError('CLUSTER_UNAVAILABLE', `Redis does not answer: ${errorMessage(err)}`);
  }
}
