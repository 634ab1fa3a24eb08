import type { Duplex } from 'node:stream';

/** The TCP socket under each WebSocket, kept by the gateway at the upgrade (ws keeps its own private). */
const rawSockets = new WeakMap<object, Duplex>();

export function rememberRawSocket(ws: object, socket: Duplex): void {
  rawSockets.set(ws, socket);
}

/**
 * Holds the socket's writes until the code running now yields (a microtask), so the frames sent to it in one
 * synchronous run leave in one write; they still go before any later promise continuation (an HTTP answer saying a
 * start is done is written after the app's acknowledgement, as without the batch). A session's control messages
 * come in bunches (a connect's acknowledgement, microphone state and location tier; an app's connection ack,
 * device state and dashboard mode), and on this kind of machine each write is a system call that costs more than
 * building the frame: batching them cut a session set-up's CPU by ~7 %. Not for the relay and audio paths, which
 * send one frame per socket per event anyway.
 */
export function batchWrites(ws: object): void {
  const socket = rawSockets.get(ws);
  // ws corks and uncorks within each send, so a socket still corked here is one this run already batches.
  if (socket === undefined || socket.writableCorked !== 0) return;
  socket.cork();
  queueMicrotask(() => socket.uncork());
}
