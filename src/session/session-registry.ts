import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ContextIdFactory, ModuleRef } from '@nestjs/core';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { NodeRegistry } from '../cluster/node-registry.js';
import { UserLeases } from '../cluster/user-leases.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionEvents } from '../session-events/session-events.service.js';
import type { SessionEndReason } from '../session-events/session-events.types.js';
import type { SessionPayload } from '../session-core/session-context.js';
import { MOVED_CLOSE, SessionOwnership } from './session-ownership.js';
import { UserSession } from './user-session.js';

interface Entry {
  session: UserSession;
  /** Owned here, not by the session: ending a session is the registry's decision. */
  graceTimer: NodeJS.Timeout | null;
}

/**
 * Owns one DI context per user. The Map entry is the only strong reference to a context; once it is
 * deleted and the session disposed, the session and every manager in it can be collected.
 */
@Injectable()
export class SessionRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionRegistry.name);
  private readonly live = new Map<string, Entry>();
  private readonly opening = new Map<string, Promise<{ session: UserSession; created: boolean }>>();
  private shuttingDown = false;
  private readonly drains: Array<() => Promise<unknown>> = [];
  /** Cluster mode only (REDIS_URL): the user's lease is taken before a session is built. */
  private readonly ownership: SessionOwnership | null = null;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: SessionEvents,
    @Optional() leases?: UserLeases,
    @Optional() nodes?: NodeRegistry,
    @Optional() bus?: ClusterBus,
  ) {
    if (leases && nodes && bus) {
      this.ownership = new SessionOwnership(leases, nodes, bus);
      nodes.countSessionsWith(() => this.live.size);
      bus.handle('session.handover', async ({ userId, toNodeId }) => {
        const released = await this.relinquish(userId, `handed over to ${toNodeId}`);
        return { released };
      });
      leases.onLost((userId, holder) => void this.relinquish(userId, `lease lost to ${holder.nodeId}`));
    }
  }

  get size(): number {
    return this.live.size;
  }

  /** Live sessions plus those being built: what MAX_SESSIONS is checked against. */
  get occupancy(): number {
    return this.live.size + this.opening.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  get(userId: string): UserSession | undefined {
    return this.live.get(userId)?.session;
  }

  sessions(): UserSession[] {
    return Array.from(this.live.values(), (e) => e.session);
  }

  /** Returns the user's live session or builds one; concurrent calls for one user share one build. */
  open(userId: string): Promise<{ session: UserSession; created: boolean }> {
    const entry = this.live.get(userId);
    if (entry) return Promise.resolve({ session: entry.session, created: false });
    let pending = this.opening.get(userId);
    if (!pending) {
      pending = this.create(userId).finally(() => this.opening.delete(userId));
      this.opening.set(userId, pending);
    }
    return pending;
  }

  private async create(userId: string): Promise<{ session: UserSession; created: boolean }> {
    if (this.ownership) await this.ownership.claim(userId);
    const contextId = ContextIdFactory.create();
    this.moduleRef.registerRequestByContextId<SessionPayload>({ userId }, contextId);
    const session = await this.moduleRef.resolve(UserSession, contextId, { strict: false }).catch(async (err) => {
      await this.ownership?.release(userId);
      throw err;
    });
    this.live.set(userId, { session, graceTimer: null });
    return { session, created: true };
  }

  /** The glasses went away: the session lives on for the grace period, then ends. */
  scheduleEnd(userId: string): void {
    const entry = this.live.get(userId);
    if (!entry) return;
    if (entry.graceTimer) clearTimeout(entry.graceTimer);
    entry.graceTimer = setTimeout(() => {
      entry.graceTimer = null;
      if (this.live.get(userId) !== entry || entry.session.ctx.glassesOpen) return;
      this.logger.log(`grace period over for ${userId}: ending the session`);
      void this.end(userId, 'glasses_disconnected');
    }, this.config.glassesGraceMs);
  }

  cancelEnd(userId: string): void {
    const entry = this.live.get(userId);
    if (entry?.graceTimer) {
      clearTimeout(entry.graceTimer);
      entry.graceTimer = null;
    }
  }

  /**
   * Idempotent. Apps get app_stopped + close 1000 "User session ended"; the session leaves the registry first.
   * Reported once as a session-ended event (user, duration, apps used, reason).
   */
  async end(userId: string, reason: SessionEndReason): Promise<boolean> {
    const entry = this.live.get(userId);
    if (!entry) return false;
    this.live.delete(userId);
    if (entry.graceTimer) clearTimeout(entry.graceTimer);
    entry.graceTimer = null;
    const { session } = entry;
    const appsUsed = session.apps.appsUsed();
    const failures = await session.dispose();
    for (const f of failures) this.logger.error(`dispose of ${userId}: ${(f as Error)?.stack ?? String(f)}`);
    // Unless another session of the user was built meanwhile (it holds the lease now).
    if (this.ownership && !this.live.has(userId) && !this.opening.has(userId)) await this.ownership.release(userId);
    const endedAt = new Date();
    this.events.sessionEnded({
      userId,
      startedAt: session.ctx.startTime.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - session.ctx.startTime.getTime(),
      appsUsed,
      reason,
    });
    return true;
  }

  /**
   * Cluster mode: this process stops serving the user (another process asked for it, or took the lease). The
   * glasses and app sockets get MOVED_CLOSE (1012: phone and SDK reconnect, through nginx, to the new owner),
   * then the session ends like at a restart (no app_stopped; the persisted running apps stay) and the lease is
   * released. True when this process had the user (session or lease).
   */
  async relinquish(userId: string, why: string): Promise<boolean> {
    const building = this.opening.get(userId);
    if (building) await building.catch(() => undefined);
    const entry = this.live.get(userId);
    if (!entry) {
      if (!this.ownership?.isOwned(userId)) return false;
      await this.ownership.release(userId);
      return true;
    }
    this.logger.log(`${userId} leaves this process: ${why}`);
    const { session } = entry;
    const { code, reason } = MOVED_CLOSE;
    if (session.ctx.glasses && session.ctx.glasses.readyState <= 1) session.ctx.glasses.close(code, reason);
    for (const rt of session.connections.values()) if (rt.ws && rt.ws.readyState <= 1) rt.ws.close(code, reason);
    await this.end(userId, 'moved');
    return true;
  }

  /** Work to run first at shutdown, before sessions are disposed (app.factory: refuse upgrades, close sockets with 1012). */
  onShutdown(drain: () => Promise<unknown>): void {
    this.drains.push(drain);
  }

  /**
   * A restart, not the users leaving: the drains close every glasses and app socket with 1012 (Service
   * Restart) so the phone and the SDK reconnect, then the sessions are disposed with their sockets already
   * closed (no app_stopped, no "User session ended"), and the persisted running apps stay as they are, so a
   * fresh session after the restart starts them again. `end()` (the admin DELETE, the grace period) is unchanged.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    // A grace period ending during the drain must not end a session the old way.
    for (const entry of this.live.values()) {
      if (entry.graceTimer) clearTimeout(entry.graceTimer);
      entry.graceTimer = null;
    }
    await Promise.allSettled(this.drains.map((drain) => drain()));
    await Promise.allSettled([...this.live.keys()].map((id) => this.end(id, 'shutdown')));
  }
}
