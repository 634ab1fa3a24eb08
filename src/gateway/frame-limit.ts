import type { WebSocket } from 'ws';

/** The part of ws's (8.x) per-socket frame parser this reaches: its payload limit, read at each frame header. */
interface ReceiverLike {
  _maxPayload?: unknown;
}

/**
 * Sets one socket's frame limit. `ws` has only a server-wide `maxPayload`, but an app socket before its init must
 * be held to an init's size while an initialised one carries large frames: with the server-wide limit alone, a
 * peer that never authenticates could make us buffer a whole 16 MB frame before we could refuse it. The parser
 * checks its limit when a frame's header arrives (close 1009, nothing buffered), so lowering it per socket refuses
 * an oversized frame from its first bytes. Returns false when this `ws` build has no such field; the gateway's
 * own length check is then the only one (a test pins the field's presence for the version we ship).
 */
export function setFrameLimit(ws: WebSocket, bytes: number): boolean {
  const receiver = (ws as unknown as { _receiver?: ReceiverLike })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = bytes;
  return true;
}
