import { Logger } from '@nestjs/common';
import { errorMessage } from '../common/cloud-error.js';
import type { ClusterConfig } from '../config/config.types.js';
import { KEYS } from './keys.js';
import type { NodeIdentity } from './node-identity.js';
import type { RedisLink } from './redis-link.js';
import type { UserLeases } from './user-leases.js';

export type NodeHealth = 'ok' | 'degraded' | 'draining';

/** One process of the cluster as the node list shows it (`GET /api/admin/cluster`). */
export interface NodeInfo {
  nodeId: string;
  pid: number;
  address: string;
  sessions: number;
  leaseCount: number;
  health: NodeHealth;
  startedAt: string;
  /** When this entry was written (the node's clock). */
  lastSeen: string;
}

/** A node counts as gone after this many heartbeats without one. */
export const MISSED_HEARTBEATS = 3;

/**
 * Presence: each process writes its NodeInfo under a key that expires after three heartbeats, and adds its id
 * to one index set; listing reads the index and drops the ids whose key expired (a killed process vanishes
 * within three heartbeats, a stopped one at once). No clocks are compared between machines.
 */
export class NodeRegistry {
  private readonly logger = new Logger('Cluster');
  private timer: NodeJS.Timeout | null = null;
  private sessions: () => number = () => 0;
  private draining = false;

  constructor(
    private readonly link: RedisLink,
    private readonly node: NodeIdentity,
    private readonly leases: UserLeases,
    private readonly config: ClusterConfig,
  ) {
    link.onUp(() => void this.heartbeat().catch(() => undefined));
  }

  /** The live-session count shown in the node list (the session registry plugs in here). */
  countSessionsWith(counter: () => number): void {
    this.sessions = counter;
  }

  /** Shown as `draining` from now on (graceful shutdown). */
  markDraining(): void {
    this.draining = true;
    void this.heartbeat().catch(() => undefined);
  }

  get ttlMs(): number {
    return this.config.nodeHeartbeatMs * MISSED_HEARTBEATS;
  }

  /** This node's entry as it would be written now. */
  self(): NodeInfo {
    return {
      nodeId: this.node.nodeId,
      pid: this.node.pid,
      address: this.node.address,
      sessions: this.sessions(),
      leaseCount: this.leases.count,
      health: this.draining ? 'draining' : this.leases.degraded || !this.link.up ? 'degraded' : 'ok',
      startedAt: this.node.startedAt,
      lastSeen: new Date().toISOString(),
    };
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.heartbeat().catch(() => undefined), this.config.nodeHeartbeatMs);
    this.timer.unref();
    await this.heartbeat().catch((err: unknown) =>
      this.logger.warn(`registering node ${this.node.nodeId} failed (retried every heartbeat): ${errorMessage(err)}`),
    );
  }

  async heartbeat(): Promise<void> {
    await this.link.commands
      .multi()
      .set(KEYS.node(this.node.nodeId), JSON.stringify(this.self()), 'PX', this.ttlMs)
      .sadd(KEYS.nodeIndex, this.node.nodeId)
      .exec();
  }

  /** Every live node (this one included when Redis has it), sorted by id. */
  async list(): Promise<NodeInfo[]> {
    const ids = await this.link.commands.smembers(KEYS.nodeIndex);
    if (ids.length === 0) return [];
    const values = await this.link.commands.mget(ids.map((id) => KEYS.node(id)));
    const live: NodeInfo[] = [];
    const gone: string[] = [];
    values.forEach((v, i) => {
      if (v === null) gone.push(ids[i]!);
      else {
        try {
          live.push(JSON.parse(v) as NodeInfo);
        } catch {
          gone.push(ids[i]!);
        }
      }
    });
    if (gone.length > 0) await this.link.commands.srem(KEYS.nodeIndex, ...gone).catch(() => undefined);
    return live.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** True while the node's presence key lives (it heartbeats, or stopped less than three heartbeats ago uncleanly). */
  async isAlive(nodeId: string): Promise<boolean> {
    return (await this.link.commands.exists(KEYS.node(nodeId))) === 1;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Leaves the list at once (graceful shutdown) instead of after three heartbeats. */
  async deregister(): Promise<void> {
    this.stop();
    if (!this.link.up) return;
    await this.link.commands
      .multi()
      .del(KEYS.node(this.node.nodeId))
      .srem(KEYS.nodeIndex, this.node.nodeId)
      .exec()
      .catch(() => undefined);
  }
}
