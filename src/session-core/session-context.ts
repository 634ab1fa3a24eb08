import { Inject, Injectable, Logger, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import type { WebSocket } from 'ws';
import type { AppRecord } from '../persistence/persistence.types.js';
import type { CloudToGlassesMessage } from '../protocol/glasses.types.js';
import { batchWrites } from '../common/write-batching.js';

/** What the registry registers as the REQUEST of a user's DI context. */
export interface SessionPayload {
  userId: string;
}

export type StopReason = 'user_disabled' | 'system_stop' | 'error';

/** Events between the managers of one session; keeps the managers from depending on each other in cycles. */
export interface SessionEvents {
  glassesConnected: { reconnect: boolean };
  glassesDisconnected: { code: number };
  /** The app was asked to start (boot screen time). */
  appStarting: { packageName: string; app: AppRecord };
  /** The app's socket sent a valid init and was acked. */
  appRunning: { packageName: string; app: AppRecord; reconnect: boolean };
  appStopped: { packageName: string; reason: StopReason };
  /** `added`: subscriptions the app did not have before this change (for replaying cached data). */
  subscriptionsChanged: { packageName: string; added: string[] };
  modelChanged: { modelName: string | null };
  /** Speech gating changed (VAD, idle close, bypass): provider streams open or close with it. */
  speechChanged: { active: boolean };
}

type Listening = unknown[];

const OPEN = 1;

/**
 * The per-user root of the DI context: identity, the glasses socket, the session's event bus and the
 * one list of disposers. Managers register their cleanup here in their constructors, because NestJS
 * never calls lifecycle hooks on scoped instances.
 */
@Injectable({ scope: Scope.REQUEST })
export class SessionContext {
  readonly userId: string;
  // A number, not a Date: a Date object per session is ~80 bytes more of every session's heap.
  private readonly startedAt = Date.now();
  get startTime(): Date {
    return new Date(this.startedAt);
  }
  readonly logger: Logger;
  private glassesSocket: WebSocket | null = null;
  private glassesGoneAt: Date | null = null;
  /** Per event: listener, its `this`, listener, its `this`… */
  // A plain object rather than a Map: nine fixed keys, and a Map's table is several times larger.
  private listeners: { [K in keyof SessionEvents]?: Listening } = {};
  /** Cleanup function, its `this`, … */
  private readonly disposers: unknown[] = [];
  private disposed = false;

  constructor(@Inject(REQUEST) payload: SessionPayload) {
    this.userId = payload.userId;
    this.logger = new Logger(`Session ${payload.userId}`);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The live glasses socket, or null between a disconnect and the next connection. */
  get glasses(): WebSocket | null {
    return this.glassesSocket;
  }

  /** When the glasses went away; null while they are connected (and before the first connection). */
  get disconnectedAt(): Date | null {
    return this.glassesGoneAt;
  }

  get glassesOpen(): boolean {
    return this.glassesSocket !== null && this.glassesSocket.readyState === OPEN;
  }

  /**
   * Makes `ws` the session's glasses socket and tells the managers (`glassesConnected`). A second connection of
   * the same user replaces the first, which is closed with 4000 so the old phone knows why.
   */
  attachGlasses(ws: WebSocket, reconnect: boolean): void {
    const previous = this.glassesSocket;
    this.glassesSocket = ws;
    this.glassesGoneAt = null;
    if (previous && previous !== ws && previous.readyState === OPEN)
      previous.close(4000, 'Replaced by a newer connection');
    this.emit('glassesConnected', { reconnect });
  }

  /**
   * The glasses socket `ws` closed. False, and nothing changes, when `ws` is not the session's socket any more (a
   * replaced connection's late close says nothing about the live one).
   */
  detachGlasses(ws: WebSocket, code: number): boolean {
    if (this.glassesSocket !== ws) return false;
    this.glassesSocket = null;
    this.glassesGoneAt = new Date();
    this.emit('glassesDisconnected', { code });
    return true;
  }

  /** Sends a JSON message to the glasses; false (and nothing sent) when the socket is not open. */
  sendToGlasses(message: CloudToGlassesMessage): boolean {
    const ws = this.glassesSocket;
    if (ws === null || ws.readyState !== OPEN) return false;
    batchWrites(ws);
    ws.send(JSON.stringify(message));
    return true;
  }

  /**
   * `listener` runs on every `event`, with `self` as `this` when given: a manager passes one of its methods and
   * itself rather than a new closure (a session registers ~40 listeners and disposers; closures were ~3 KB of
   * each session's heap).
   */
  on<K extends keyof SessionEvents, T = unknown>(
    event: K,
    listener: (this: T, event: SessionEvents[K]) => void,
    self?: T,
  ): void {
    // [listener, self] pairs in a new array of the exact length (listeners are added while the managers are
    // built): push() would grow each list to 17 slots.
    const list = this.listeners[event];
    const entry = [listener, self] as Listening;
    this.listeners[event] = list ? [...list, ...entry] : entry;
  }

  emit<K extends keyof SessionEvents>(event: K, payload: SessionEvents[K]): void {
    const list = this.listeners[event];
    if (!list) return;
    for (let i = 0; i < list.length; i += 2) {
      try {
        (list[i] as (event: SessionEvents[K]) => void).call(list[i + 1], payload);
      } catch (err) {
        this.logger.error(`listener for ${event} failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }

  /** Registers cleanup to run once at dispose (with `self` as `this` when given), in reverse order of registration. */
  defer<T = unknown>(fn: (this: T) => unknown, self?: T): void {
    if (this.disposed) {
      void Promise.resolve().then(() => fn.call(self as T));
      return;
    }
    this.disposers.push(fn, self);
  }

  /** Idempotent; never throws. Returns the failures so the caller can log them. */
  async dispose(): Promise<unknown[]> {
    if (this.disposed) return [];
    this.disposed = true;
    const cleanups: Array<() => unknown> = [];
    for (let i = this.disposers.length - 2; i >= 0; i -= 2) {
      const fn = this.disposers[i] as (this: unknown) => unknown;
      const self = this.disposers[i + 1];
      cleanups.push(() => fn.call(self));
    }
    const results = await Promise.allSettled(cleanups.map(async (fn) => fn()));
    this.disposers.length = 0;
    this.listeners = {};
    this.glassesSocket = null;
    return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
  }
}
