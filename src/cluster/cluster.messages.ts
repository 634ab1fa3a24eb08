import type { NodeInfo } from './node-registry.js';

/**
 * Every message one process sends another, in one place: requests (answered by one node) and broadcasts
 * (heard by every node). Payloads are plain JSON. Adding a message: add it here, `bus.handle` / `bus.on` it in
 * the module that owns the behaviour, and call `bus.request` / `bus.toOwner` / `bus.broadcast` where it starts.
 */
export interface ClusterRequests {
  /** Reachability and round-trip probe. */
  ping: { req: { sentAt: number }; res: { nodeId: string; sentAt: number } };
  /** This node's entry as it is now (not as last heartbeated). */
  'node.info': { req: Record<string, never>; res: NodeInfo };
  /**
   * The owner gives a user up: it closes the user's sockets with a reconnect code and releases the lease, so
   * the requesting node can take it (the hash moved the user there). `released` false: it does not own the user.
   */
  'session.handover': { req: { userId: string; toNodeId: string }; res: { released: boolean } };
  /** Admin: the sessions a node holds, for the cluster-wide list (each summary gets `ownerNode`). */
  'admin.sessions': { req: Record<string, never>; res: { sessions: Array<Record<string, unknown>> } };
  /**
   * Calls on one user's live session, carried out by its owner and answered with the owner's outcome (the admin
   * API's, and the phone's start / stop and home screen). SESSION_NOT_FOUND when the owner has no session.
   */
  'admin.session': { req: { userId: string }; res: Record<string, unknown> };
  'admin.start-app': {
    req: { userId: string; packageName: string; reqId?: string };
    res:
      | { ok: true; packageName: string; alreadyRunning?: boolean }
      | { ok: false; packageName: string; stage: string; message: string };
  };
  'admin.stop-app': { req: { userId: string; packageName: string }; res: { stopped: boolean } };
  'admin.end-session': { req: { userId: string }; res: { ended: boolean } };
  'admin.device': { req: { userId: string; modelName: string; connected: boolean }; res: Record<string, unknown> };
  'session.apps': {
    req: { userId: string };
    res: { apps: Array<{ packageName: string; state: string; connected: boolean; lastStart?: unknown }> };
  };
  /** The phone changed the user's MentraOS settings (`keys`, now in the store): the owner's session follows them. */
  'user-settings.changed': { req: { userId: string; keys: string[] }; res: { applied: boolean } };
  /** Phone or admin settings of an app changed: the owner pushes them to the running app. */
  'app.settings-changed': { req: { userId: string; packageName: string }; res: { delivered: boolean } };
  /** App-to-app: a direct message to a user's running app. */
  'app-messaging.direct': {
    req: { userId: string; packageName: string; message: Record<string, unknown> };
    res: { delivered: boolean };
  };
  /** App-to-app discovery: the users running a package on one node. */
  'app-messaging.users': {
    req: { packageName: string };
    res: { users: Array<{ userId: string; sessionId: string; joinedAt: string }> };
  };
  /** The ingest accepted (or ended) the publisher of a managed-stream key: the stream's owner updates the stream. */
  'ingest.publish': { req: { key: string }; res: { applied: boolean } };
  'ingest.publish-done': { req: { key: string }; res: { applied: boolean } };
}

export interface ClusterBroadcasts {
  /** An app was uninstalled for a user (or deleted: userId null): every node stops it where it runs. */
  'app.uninstalled': { packageName: string; userId: string | null };
  /** App-to-app broadcast: every node delivers to its own users running the package (in the room, if any). */
  'app-messaging.broadcast': {
    packageName: string;
    senderUserId: string;
    roomId?: string;
    message: Record<string, unknown>;
  };
  /** A user's core tokens below `minimumVersion` were revoked: every node closes its sockets opened with one. */
  'token.revoked': { userId: string; minimumVersion: number };
}

export type RequestType = keyof ClusterRequests;
export type BroadcastType = keyof ClusterBroadcasts;
export type RequestOf<T extends RequestType> = ClusterRequests[T]['req'];
export type ResponseOf<T extends RequestType> = ClusterRequests[T]['res'];

/** What travels on the channels. */
export type Envelope =
  | { k: 'q'; id: string; from: string; t: RequestType; p: unknown }
  | { k: 'r'; id: string; ok: true; r: unknown }
  | { k: 'r'; id: string; ok: false; e: { code: string; message: string; details?: Record<string, unknown> } }
  | { k: 'b'; from: string; t: BroadcastType; p: unknown };
