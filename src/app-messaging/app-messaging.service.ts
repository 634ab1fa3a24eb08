import { Inject, Injectable, Logger } from '@nestjs/common';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { appSessionId } from '../common/app-session-id.js';
import type { ErrorCode } from '../common/cloud-error.js';
import type { TypedMessage } from '../common/json.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionRegistry } from '../session/session-registry.js';

export type MessagingResult = { ok: true } | { ok: false; code: ErrorCode; message: string };

export interface AppUser {
  userId: string;
  sessionId: string;
  joinedAt: string;
}

const MAX_ROOM_ID = 128;

/**
 * App-to-app messaging between users running the same package (upstream never routed these). The
 * sender is always the socket's own session, never what the message claims. Per-socket messages are
 * rate limited: the excess gets an error and is dropped.
 */
@Injectable()
export class AppMessagingService {
  private readonly logger = new Logger('AppMessaging');
  private readonly limiter: RateLimiterMemory;
  /** package → room → members (userIds) */
  private readonly rooms = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limiter = new RateLimiterMemory({ points: config.appMessagesPerSecond, duration: 1 });
  }

  /** Every user currently running the package (apps connected or in their short grace), optionally without one. */
  usersRunning(packageName: string, except?: string): AppUser[] {
    const out: AppUser[] = [];
    for (const s of this.registry.sessions()) {
      if (s.userId === except) continue;
      const rt = s.connections.get(packageName);
      if (!rt || (rt.state !== 'running' && rt.state !== 'grace')) continue;
      out.push({
        userId: s.userId,
        sessionId: rt.sessionId,
        joinedAt: new Date(rt.connectedAt || rt.startedAt).toISOString(),
      });
    }
    return out;
  }

  private async allowed(senderSessionId: string): Promise<boolean> {
    try {
      await this.limiter.consume(senderSessionId);
      return true;
    } catch {
      return false;
    }
  }

  async handle(senderUserId: string, packageName: string, msg: TypedMessage): Promise<MessagingResult> {
    const senderSessionId = appSessionId(senderUserId, packageName);
    if (!(await this.allowed(senderSessionId)))
      return { ok: false, code: 'RATE_LIMITED', message: 'Too many app messages; slow down' };
    const messageId =
      typeof msg.messageId === 'string' && msg.messageId.length <= 200 ? msg.messageId : `msg_${Date.now()}`;
    const stamp = new Date().toISOString();
    switch (msg.type) {
      case 'app_broadcast_message': {
        const roomId = typeof msg.roomId === 'string' ? msg.roomId : undefined;
        const members = roomId ? this.rooms.get(packageName)?.get(roomId) : undefined;
        for (const user of this.usersRunning(packageName, senderUserId)) {
          if (members && !members.has(user.userId)) continue;
          this.send(user.userId, packageName, {
            type: 'app_message_received',
            payload: msg.payload,
            messageId,
            senderUserId,
            senderSessionId,
            ...(roomId ? { roomId } : {}),
            timestamp: stamp,
          });
        }
        return { ok: true };
      }
      case 'app_direct_message': {
        const target = typeof msg.targetUserId === 'string' ? msg.targetUserId : '';
        const delivered =
          target !== senderUserId &&
          this.usersRunning(packageName).some((u) => u.userId === target) &&
          this.send(target, packageName, {
            type: 'app_message_received',
            payload: msg.payload,
            messageId,
            senderUserId,
            senderSessionId,
            timestamp: stamp,
          });
        this.send(senderUserId, packageName, {
          type: 'app_direct_message_response',
          messageId,
          success: delivered,
          targetUserId: target,
          ...(delivered ? {} : { error: `${target || 'the target'} is not running ${packageName}` }),
          timestamp: stamp,
        });
        return { ok: true };
      }
      case 'app_room_join':
      case 'app_room_leave': {
        const roomId = msg.roomId;
        if (typeof roomId !== 'string' || roomId.length === 0 || roomId.length > MAX_ROOM_ID)
          return {
            ok: false,
            code: 'MALFORMED_MESSAGE',
            message: `${msg.type} needs a roomId of 1-${MAX_ROOM_ID} characters`,
          };
        const join = msg.type === 'app_room_join';
        this.membership(packageName, roomId, senderUserId, join);
        const members = this.rooms.get(packageName)?.get(roomId) ?? new Set<string>();
        for (const member of members) {
          if (member === senderUserId) continue;
          this.send(member, packageName, {
            type: join ? 'app_user_joined' : 'app_user_left',
            userId: senderUserId,
            sessionId: senderSessionId,
            roomId,
            [join ? 'joinedAt' : 'leftAt']: stamp,
            timestamp: stamp,
          });
        }
        return { ok: true };
      }
      default:
        return { ok: false, code: 'UNKNOWN_MESSAGE_TYPE', message: `Unsupported message type: ${msg.type}` };
    }
  }

  private membership(packageName: string, roomId: string, userId: string, join: boolean): void {
    let rooms = this.rooms.get(packageName);
    if (!rooms) this.rooms.set(packageName, (rooms = new Map()));
    let members = rooms.get(roomId);
    if (!members) rooms.set(roomId, (members = new Set()));
    if (join) members.add(userId);
    else members.delete(userId);
    // Members whose app stopped leave lazily, so rooms cannot grow without bound.
    const running = new Set(this.usersRunning(packageName).map((u) => u.userId));
    for (const m of members) if (m !== userId && !running.has(m)) members.delete(m);
    if (members.size === 0) rooms.delete(roomId);
  }

  private send(userId: string, packageName: string, message: object): boolean {
    const ok = this.registry.get(userId)?.connections.sendJson(packageName, message) ?? false;
    if (!ok) this.logger.debug(`could not deliver ${(message as { type: string }).type} to ${userId}/${packageName}`);
    return ok;
  }
}
