import { Logger } from '@nestjs/common';
import { CloudError, errorMessage, type ErrorCode } from '../common/cloud-error.js';
import type { ClusterConfig } from '../config/config.types.js';
import type {
  BroadcastType,
  ClusterBroadcasts,
  Envelope,
  RequestOf,
  RequestType,
  ResponseOf,
} from './cluster.messages.js';
import { CHANNELS } from './keys.js';
import type { NodeIdentity } from './node-identity.js';
import type { NodeRegistry } from './node-registry.js';
import type { RedisLink } from './redis-link.js';
import type { UserLeases } from './user-leases.js';

export type RequestHandler<T extends RequestType> = (
  payload: RequestOf<T>,
  from: string,
) => ResponseOf<T> | Promise<ResponseOf<T>>;
export type BroadcastListener<T extends BroadcastType> = (payload: ClusterBroadcasts[T], from: string) => void;

export type NodeAnswer<T extends RequestType> =
  { nodeId: string; ok: true; result: ResponseOf<T> } | { nodeId: string; ok: false; error: CloudError };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: CloudError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Cross-process calls over Redis pub/sub: each node listens on its own inbox channel (requests to it, answers to
 * its requests, matched by correlation id) and on one broadcast channel. A call to a node that is not listening
 * fails at once (PUBLISH reached nobody); one that does not answer fails after CLUSTER_REQUEST_TIMEOUT_MS. A call
 * addressed to this node runs its handler directly, so callers need one code path for "wherever the user is".
 * Only control messages travel here: audio and event relays never leave their process.
 */
export class ClusterBus {
  private readonly logger = new Logger('ClusterBus');
  private readonly handlers = new Map<RequestType, RequestHandler<never>>();
  private readonly listeners = new Map<BroadcastType, Set<BroadcastListener<never>>>();
  private readonly pending = new Map<string, Pending>();
  private readonly inbox: string;
  private seq = 0;
  private started = false;

  constructor(
    private readonly link: RedisLink,
    private readonly node: NodeIdentity,
    private readonly leases: UserLeases,
    private readonly nodes: NodeRegistry,
    private readonly config: ClusterConfig,
  ) {
    this.inbox = CHANNELS.inbox(node.nodeId);
  }

  get nodeId(): string {
    return this.node.nodeId;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.link.subscriber.on('message', (channel: string, text: string) => this.receive(channel, text));
    // ioredis subscribes again by itself after a reconnect; a failure here (Redis away at boot) is retried on up.
    const subscribe = () =>
      this.link.subscriber
        .subscribe(this.inbox, CHANNELS.broadcast)
        .catch((err: unknown) =>
          this.logger.warn(`subscribing failed (retried when Redis is back): ${errorMessage(err)}`),
        );
    if (this.link.subscriber.status === 'ready') await subscribe();
    else this.link.subscriber.once('ready', () => void subscribe());
  }

  /** The one handler of a request type on this node (a second registration replaces the first). */
  handle<T extends RequestType>(type: T, handler: RequestHandler<T>): void {
    this.handlers.set(type, handler as unknown as RequestHandler<never>);
  }

  /** Listens to a broadcast; returns the unsubscribe. */
  on<T extends BroadcastType>(type: T, listener: BroadcastListener<T>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const l = listener as unknown as BroadcastListener<never>;
    set.add(l);
    return () => set.delete(l);
  }

  /** Asks one node; its handler's CloudError comes back as the same CloudError. */
  async request<T extends RequestType>(
    nodeId: string,
    type: T,
    payload: RequestOf<T>,
    timeoutMs = this.config.requestTimeoutMs,
  ): Promise<ResponseOf<T>> {
    if (nodeId === this.node.nodeId) return this.runLocal(type, payload, this.node.nodeId);
    const id = `${this.node.nodeId}:${++this.seq}`;
    const answer = new Promise<ResponseOf<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new CloudError('OWNER_UNREACHABLE', `node ${nodeId} did not answer ${type} within ${timeoutMs} ms`, {
            nodeId,
          }),
        );
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
    });
    const envelope: Envelope = { k: 'q', id, from: this.node.nodeId, t: type, p: payload };
    let receivers: number;
    try {
      receivers = await this.link.commands.publish(CHANNELS.inbox(nodeId), JSON.stringify(envelope));
    } catch (err) {
      receivers = -1;
      this.settle(id, new CloudError('CLUSTER_UNAVAILABLE', `Redis does not answer: ${errorMessage(err)}`));
    }
    if (receivers === 0)
      this.settle(
        id,
        new CloudError('OWNER_UNREACHABLE', `node ${nodeId} is not connected to the cluster`, { nodeId }),
      );
    return answer;
  }

  /**
   * Runs `type` on the node that owns the user's lease (this one included). SESSION_NOT_FOUND when nobody owns
   * the user: the caller decides what that means (often: act on the store directly).
   */
  async toOwner<T extends RequestType>(
    userId: string,
    type: T,
    payload: RequestOf<T>,
    timeoutMs = this.config.requestTimeoutMs,
  ): Promise<{ nodeId: string; result: ResponseOf<T> }> {
    const nodeId = this.leases.isOwned(userId) ? this.node.nodeId : (await this.leases.owner(userId))?.nodeId;
    if (!nodeId) throw new CloudError('SESSION_NOT_FOUND', `No process holds a session of ${userId}`, { userId });
    return { nodeId, result: await this.request(nodeId, type, payload, timeoutMs) };
  }

  /** Asks every live node at once (this one included); one answer per node, failures included, sorted by node. */
  async requestAll<T extends RequestType>(type: T, payload: RequestOf<T>): Promise<Array<NodeAnswer<T>>> {
    let ids: string[];
    try {
      ids = (await this.nodes.list()).map((n) => n.nodeId);
    } catch (err) {
      throw new CloudError('CLUSTER_UNAVAILABLE', `Redis does not answer: ${errorMessage(err)}`);
    }
    if (!ids.includes(this.node.nodeId)) ids.push(this.node.nodeId);
    ids.sort();
    return Promise.all(
      ids.map((nodeId) =>
        this.request(nodeId, type, payload).then(
          (result): NodeAnswer<T> => ({ nodeId, ok: true, result }),
          (err: unknown): NodeAnswer<T> => ({ nodeId, ok: false, error: toCloudError(err) }),
        ),
      ),
    );
  }

  /**
   * Tells every node, this one first (directly, so it happens even while Redis is away). Throws
   * CLUSTER_UNAVAILABLE when the other nodes could not be told.
   */
  async broadcast<T extends BroadcastType>(type: T, payload: ClusterBroadcasts[T]): Promise<void> {
    this.deliver(type, payload, this.node.nodeId);
    const envelope: Envelope = { k: 'b', from: this.node.nodeId, t: type, p: payload };
    try {
      await this.link.commands.publish(CHANNELS.broadcast, JSON.stringify(envelope));
    } catch (err) {
      throw new CloudError('CLUSTER_UNAVAILABLE', `Redis does not answer: ${errorMessage(err)}`);
    }
  }

  /** Fails every call still waiting (shutdown). */
  stop(): void {
    for (const id of [...this.pending.keys()])
      this.settle(id, new CloudError('OWNER_UNREACHABLE', 'this node is shutting down'));
  }

  private receive(channel: string, text: string): void {
    let msg: Envelope;
    try {
      msg = JSON.parse(text) as Envelope;
    } catch {
      this.logger.warn(`an unreadable message on ${channel} was dropped`);
      return;
    }
    if (msg.k === 'r') {
      const p = this.pending.get(msg.id);
      if (!p) return; // answered after its timeout
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.r);
      else p.reject(new CloudError(msg.e.code as ErrorCode, msg.e.message, msg.e.details));
    } else if (msg.k === 'q') {
      void this.answer(msg);
    } else if (msg.k === 'b' && msg.from !== this.node.nodeId) {
      this.deliver(msg.t, msg.p as never, msg.from);
    }
  }

  private async answer(msg: Extract<Envelope, { k: 'q' }>): Promise<void> {
    let reply: Envelope;
    try {
      reply = { k: 'r', id: msg.id, ok: true, r: await this.runLocal(msg.t, msg.p as never, msg.from) };
    } catch (err) {
      const e = toCloudError(err);
      reply = { k: 'r', id: msg.id, ok: false, e: { code: e.code, message: e.message, details: e.details } };
    }
    await this.link.commands
      .publish(CHANNELS.inbox(msg.from), JSON.stringify(reply))
      .catch((err: unknown) => this.logger.warn(`answering ${msg.t} to ${msg.from} failed: ${errorMessage(err)}`));
  }

  private async runLocal<T extends RequestType>(type: T, payload: RequestOf<T>, from: string): Promise<ResponseOf<T>> {
    const handler = this.handlers.get(type) as RequestHandler<T> | undefined;
    if (!handler) throw new CloudError('UNSUPPORTED', `node ${this.node.nodeId} has no handler for ${type}`);
    return handler(payload, from);
  }

  private deliver<T extends BroadcastType>(type: T, payload: ClusterBroadcasts[T], from: string): void {
    for (const l of this.listeners.get(type) ?? []) {
      try {
        (l as BroadcastListener<T>)(payload, from);
      } catch (err) {
        this.logger.error(`a ${type} listener failed: ${errorMessage(err)}`);
      }
    }
  }

  private settle(id: string, err: CloudError): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
  }
}

function toCloudError(err: unknown): CloudError {
  return err instanceof CloudError ? err : new CloudError('INTERNAL_ERROR', errorMessage(err));
}
