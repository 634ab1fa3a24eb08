/** The Redis keys of the state every process shares (beside the cluster's own keys in ../keys.ts). */
export const SHARED_KEYS = {
  /** A webview temp token by its SHA-256 (JSON TempTokenEntry), expiring with the token. */
  tempToken: (hash: string) => `cluster:webview-temp:${hash}`,
  /** The user's outstanding temp tokens (hash → expiresAt), for the per-user cap. */
  tempTokensOf: (userId: string) => `cluster:webview-temp-user:${userId}`,
  /** A managed-stream ingest key (hash: userId, playbackName, published). */
  ingestKey: (key: string) => `cluster:ingest:${key}`,
  /** An app room's members, its config (JSON) and a user's rooms in one package. */
  roomMembers: (packageName: string, roomId: string) => `cluster:room:m:${packageName}\n${roomId}`,
  roomConfig: (packageName: string, roomId: string) => `cluster:room:c:${packageName}\n${roomId}`,
  roomsOf: (packageName: string, userId: string) => `cluster:room:u:${packageName}\n${userId}`,
  /** Every room that exists, as `package\nroomId`. */
  roomIndex: 'cluster:rooms',
} as const;
