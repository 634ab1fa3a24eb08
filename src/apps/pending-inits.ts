import { Injectable } from '@nestjs/common';
import type { ErrorCode } from '../common/cloud-error.js';

type Refuse = (code: ErrorCode, message: string) => void;

/**
 * The starts of every session that wait for their app's `tpa_connection_init`, by app session id. The app
 * gateway reports a refused init here, so the start fails at once instead of at its init deadline: the SDK
 * does not reconnect after a refusal (close 1008), so nothing would arrive before the deadline anyway.
 * Keyed by the session id of the webhook because a refused init may not name a live session or a known app.
 */
@Injectable()
export class PendingInits {
  private readonly waiting = new Map<string, Refuse>();

  wait(sessionId: string, refuse: Refuse): void {
    this.waiting.set(sessionId, refuse);
  }

  /** Only the entry this start registered: a newer start of the same app keeps its own. */
  done(sessionId: string, refuse: Refuse): void {
    if (this.waiting.get(sessionId) === refuse) this.waiting.delete(sessionId);
  }

  refuse(sessionId: unknown, code: ErrorCode, message: string): void {
    if (typeof sessionId !== 'string') return;
    this.waiting.get(sessionId)?.(code, message);
  }

  get size(): number {
    return this.waiting.size;
  }
}
