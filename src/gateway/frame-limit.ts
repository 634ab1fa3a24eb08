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

/** How long a socket whose frame was refused keeps its connection, for the close frame to reach the peer. */
export const REFUSED_FRAME_LINGER_MS = 1000;

/**
 * Call from a server socket's 'error' listener (ws emits it there only when its parser refused a frame: too big,
 * 1009, or malformed). `ws` then sends the close frame but keeps reading, and discarding, whatever the peer still
 * sends until the peer closes or its 30 s close timeout ends: a peer that keeps its side open and goes on
 * streaming makes us read at line rate all that time. Instead the socket stops reading (ws resumes it on the next
 * tick, so the pause is queued after that) and the connection is dropped once the close frame has had time to go out.
 */
export function dropAfterRefusedFrame(ws: WebSocket, lingerMs = REFUSED_FRAME_LINGER_MS): void {
  const socket = (ws as unknown as { _socket?: { pause(): unknown; destroy(): unknown } })._socket;
  if (!socket) return;
  process.nextTick(() => socket.pause());
  setTimeout(() => socket.destroy(), lingerMs).unref();
}
