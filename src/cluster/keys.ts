/**
 * Every Redis key and channel the cluster uses, in one place. The `cluster:` prefix keeps them apart from the
 * store's keys when both live in the same Redis.
 */
export const KEYS = {
  /** The fence counter: INCR gives every new lease a token larger than any before it. */
  fence: 'cluster:fence',
  /** `<token>|<nodeId>` of the process that owns the user's session, with the lease's expiry. */
  lease: (userId: string) => `cluster:lease:${userId}`,
  /** A node's presence (JSON NodeInfo) with its heartbeat expiry. */
  node: (nodeId: string) => `cluster:node:${nodeId}`,
  /** The ids of every node that registered; entries whose presence key expired are pruned when listed. */
  nodeIndex: 'cluster:nodes',
  /** Rate-limiter counters (rate-limiter-flexible adds `<name>:<key>`). */
  limiterPrefix: (name: string) => `cluster:limit:${name}`,
} as const;

export const CHANNELS = {
  /** Requests to one node and the responses to its own requests. */
  inbox: (nodeId: string) => `cluster:bus:node:${nodeId}`,
  /** Events every node receives. */
  broadcast: 'cluster:bus:all',
} as const;
