import { randomFillSync } from 'node:crypto';

/**
 * What ties the log lines of one request together: an HTTP request's id (the `x-request-id` it came with, or a
 * new one), or a WebSocket connection's id for the messages it sends; an app start adds its start id.
 */
export interface RequestContext {
  reqId: string;
  startId?: string;
}

/**
 * The context of the message being handled, for the synchronous part of its handling only. This is deliberately
 * not an AsyncLocalStorage: on Node 20 an enabled AsyncLocalStorage runs a hook on every promise the process
 * creates (measured: a session's DI build costs 740 µs with one enabled against 435 µs without, and whole session
 * set-ups ~15 % more CPU). Work that outlives the handler and must stay traceable carries its ids explicitly: an
 * app start keeps the request id it was started under and puts it on its log lines and on its webhook.
 */
let current: RequestContext | undefined;

/** An incoming id is kept only when it is short and plain (it ends up in logs and headers). */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export { REQUEST_ID_HEADER } from '../common/request-id.js';

/** Random bytes for ids, drawn 256 ids at a time: one `randomFillSync` per id was ~1 % of a session set-up. */
const ID_BYTES = 6;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let poolAt = pool.length;

/** A short random id (`g-1a2b3c4d5e6f` style): 48 bits, unique enough to grep for. */
export function newId(prefix: string): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + ID_BYTES);
  poolAt += ID_BYTES;
  return `${prefix}-${hex}`;
}

/** The incoming header value when it is safe to reuse, else a new id. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return typeof value === 'string' && SAFE_ID.test(value) ? value : newId('req');
}

/** The context of the message whose synchronous handling is running, if any. */
export function currentContext(): RequestContext | undefined {
  return current;
}

/**
 * Runs `fn(...args)` with `ctx` as the current context until `fn` returns (no closure needed on hot paths). What
 * `fn` does after its first `await` runs outside it.
 */
export function runWithContext<A extends unknown[], R>(ctx: RequestContext, fn: (...args: A) => R, ...args: A): R {
  const outer = current;
  current = ctx;
  try {
    return fn(...args);
  } finally {
    current = outer;
  }
}
