import { Logger } from '@nestjs/common';
import type { ClusterBus } from '../cluster/cluster-bus.js';
import type { NodeRegistry } from '../cluster/node-registry.js';
import type { AcquireResult, UserLeases } from '../cluster/user-leases.js';
import { CloudError, errorMessage } from '../common/cloud-error.js';

/**
 * Close code and reason given to a user's sockets when this process stops serving the user but the service
 * goes on elsewhere (another process took the user over, or the lease was lost): 1012 Service Restart, which
 * the phone and the SDK both treat as "reconnect".
 */
export const MOVED_CLOSE = { code: 1012, reason: 'Session moved to another server' } as const;

/** Rounds of acquire → hand over / take over before a connection is refused (the client retries). */
const CLAIM_ROUNDS = 3;

/**
 * Cluster mode only: the user's Redis lease decides which process may build the user's session. Leases are
 * touched at session build and end (and by UserLeases' batched renewal), never per message.
 */
export class SessionOwnership {
  private readonly logger = new Logger('SessionOwnership');

  constructor(
    private readonly leases: UserLeases,
    private readonly nodes: NodeRegistry,
    private readonly bus: ClusterBus,
  ) {}

  /**
   * Takes the user's lease before a session is built. Held by a live process: that process is asked to hand
   * the user over (it closes the user's sockets with MOVED_CLOSE and releases). Held by a process gone from the
   * node list: taken over at once. Throws (CLUSTER_UNAVAILABLE / OWNER_UNREACHABLE) when neither worked: the
   * client reconnects with backoff and by then the holder has answered, or vanished from the node list.
   */
  async claim(userId: string): Promise<void> {
    let result: AcquireResult = await this.leases.acquire(userId);
    for (let round = 0; !result.ok && round < CLAIM_ROUNDS; round++) {
      const holder = result.holder;
      if (holder.nodeId === this.bus.nodeId) {
        // An older lease of this very process (e.g. from before a restart with the same node id).
        result = await this.leases.takeOver(userId, holder);
        continue;
      }
      if (!(await this.nodes.isAlive(holder.nodeId))) {
        this.logger.log(`taking ${userId} over from ${holder.nodeId} (gone from the node list)`);
        result = await this.leases.takeOver(userId, holder);
        continue;
      }
      const answer = await this.bus
        .request(holder.nodeId, 'session.handover', { userId, toNodeId: this.bus.nodeId })
        .catch((err: unknown) => {
          throw new CloudError(
            'OWNER_UNREACHABLE',
            `the session of ${userId} is owned by ${holder.nodeId}, which did not hand it over: ${errorMessage(err)}`,
          );
        });
      // Released: the lease is free (or someone was faster). Not owned there: its lease is a leftover.
      result = answer.released ? await this.leases.acquire(userId) : await this.leases.takeOver(userId, holder);
    }
    if (!result.ok)
      throw new CloudError('OWNER_UNREACHABLE', `the session of ${userId} is owned by ${result.holder.nodeId}`);
  }

  isOwned(userId: string): boolean {
    return this.leases.isOwned(userId);
  }

  /** Session over: the lease goes at once, so the user's next connection anywhere is not kept waiting. */
  async release(userId: string): Promise<void> {
    await this.leases.release(userId);
  }
}
