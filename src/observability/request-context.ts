import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * What ties the log lines of one request together across async hops: an HTTP request's id (the
 * `x-request-id` it came with, or a new one), or a WebSocket connection's id for the messages it sends;
 * an app start adds its start id while it runs.
 */
export interface RequestContext {
  reqId: string;
  startId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** An incoming id is kept only when it is short and plain (it ends up in logs and headers). */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** A short random id (`g-1a2b3c4d5e6f` style): 48 bits, unique enough to grep for. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** The incoming header value when it is safe to reuse, else a new id. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return typeof value === 'string' && SAFE_ID.test(value) ? value : newId('req');
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs `fn(...args)` with `ctx` as the current context (no closure needed on hot paths). */
export function runWithContext<A extends unknown[], R>(ctx: RequestContext, fn: (...args: A) => R, ...args: A): R {
  return storage.run(ctx, fn, ...args);
}

/** Runs `fn` in the current context extended with `extra` (e.g. an app start's id). */
export function runExtended<R>(extra: Partial<RequestContext>, fn: () => R): R {
  const base = storage.getStore();
  return storage.run({ reqId: base?.reqId ?? newId('req'), ...base, ...extra }, fn);
}

/** `{ 'x-request-id': … }` for an outgoing HTTP call made on behalf of the current request, else `{}`. */
export function requestIdHeaders(): Record<string, string> {
  const ctx = storage.getStore();
  return ctx ? { [REQUEST_ID_HEADER]: ctx.reqId } : {};
}
