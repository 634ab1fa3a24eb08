import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { appSessionId } from '../common/app-session-id.js';
import { errorMessage } from '../common/cloud-error.js';
import { unhandled } from '../protocol/app-inbound.js';
import type { AppToCloudMessage, CloudToAppMessage } from '../protocol/app.types.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import type { SessionContext } from '../session-core/session-context.js';
import { SessionRegistry } from '../session/session-registry.js';
import type { UserSession } from '../session/user-session.js';
import { APP_ROOM_STORE, type AppRoomStore, type RoomConfig, type RoomData } from './app-rooms.js';

export type AppMessagingMessage = AppToCloudMessage<
  'app_broadcast_message' | 'app_direct_message' | 'app_room_join' | 'app_room_leave'
>;
import type { Result } from '../common/result.js';

export type MessagingResult = Result;

export interface AppUser {
  userId: string;
  sessionId: string;
  joinedAt: string;
}

/** The room of a message; its length was checked at the boundary (`src/protocol/app-checks.ts`). */
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
  private readonly maxRoomsPerUser: number;
  /** Per session: the packages whose rooms it joined, left again when the app stops or the session ends. */
  private readonly tracked = new WeakMap<SessionContext, Set<string>>();

  constructor(
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APP_ROOM_STORE) private readonly rooms: AppRoomStore,
    @Optional() private readonly bus?: ClusterBus,
  ) {
    this.maxRoomsPerUser = config.maxAppRoomsPerUser;
    this.limiter = new RateLimiterMemory({ points: config.appMessagesPerSecond, duration: 1 });
    // Clustered, the users of a package are spread over the processes: each delivers to the sessions it holds.
    bus?.handle('app-messaging.users', ({ packageName }) => ({ users: this.usersRunning(packageName) }));
    bus?.handle('app-messaging.direct', ({ userId, packageName, message }) => ({
      // Built by this service on the sending process (`send`), so it is a CloudToAppMessage.
      delivered:
        this.isRunningHere(userId, packageName) && this.sendHere(userId, packageName, message as CloudToAppMessage),
    }));
    bus?.on('app-messaging.broadcast', ({ packageName, senderUserId, message }, from) => {
      if (from === bus.nodeId) return;
      for (const user of this.usersRunning(packageName, senderUserId))
        this.sendHere(user.userId, packageName, message as CloudToAppMessage);
    });
  }

  /** usersRunning over every process of the cluster (this one only when not clustered or Redis is away). */
  async usersRunningEverywhere(packageName: string, except?: string): Promise<AppUser[]> {
    if (!this.bus) return this.usersRunning(packageName, except);
    let answers;
    try {
      answers = await this.bus.requestAll('app-messaging.users', { packageName });
    } catch (err) {
      this.logger.warn(`discovery of ${packageName} users on other processes failed: ${errorMessage(err)}`);
      return this.usersRunning(packageName, except);
    }
    const users = new Map<string, AppUser>();
    for (const a of answers) if (a.ok) for (const u of a.result.users) if (u.userId !== except) users.set(u.userId, u);
    return [...users.values()];
  }

  private isRunningHere(userId: string, packageName: string): boolean {
    const state = this.registry.get(userId)?.connections.get(packageName)?.state;
    return state === 'running' || state === 'grace';
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

  async handle(session: UserSession, packageName: string, msg: AppMessagingMessage): Promise<MessagingResult> {
    const senderUserId = session.userId;
    const senderSessionId = appSessionId(senderUserId, packageName);
    if (!(await this.allowed(senderSessionId)))
      return { ok: false, code: 'RATE_LIMITED', message: 'Too many app messages; slow down' };
    const messageId = msg.messageId ?? `msg_${Date.now()}`;
    const stamp = new Date().toISOString();
    switch (msg.type) {
      case 'app_broadcast_message': {
        const roomId = msg.roomId;
        const message: CloudToAppMessage<'app_message_received'> = {
          type: 'app_message_received',
          payload: msg.payload,
          messageId,
          senderUserId,
          senderSessionId,
          ...(typeof roomId === 'string' ? { roomId } : {}),
          timestamp: stamp,
        };
        if (roomId === undefined || roomId === null) {
          for (const user of this.usersRunning(packageName, senderUserId))
            this.sendHere(user.userId, packageName, message);
          await this.bus
            ?.broadcast('app-messaging.broadcast', {
              packageName,
              senderUserId,
              message: message as unknown as Record<string, unknown>,
            })
            .catch((err: unknown) =>
              this.logger.warn(`a broadcast of ${packageName} reached this process only: ${errorMessage(err)}`),
            );
          return { ok: true };
        }
        // A room's broadcast reaches its members only, and only a member may send one.
        const members = await this.rooms.members(packageName, roomId);
        if (!members.includes(senderUserId))
          return {
            ok: false,
            code: 'PERMISSION_DENIED',
            message: `Not a member of room ${roomId.slice(0, MAX_ROOM_ID)}: join it before broadcasting to it`,
          };
        for (const member of members) if (member !== senderUserId) this.send(member, packageName, message);
        return { ok: true };
      }
      case 'app_direct_message': {
        const target = msg.targetUserId;
        const received: CloudToAppMessage<'app_message_received'> = {
          type: 'app_message_received',
          payload: msg.payload,
          messageId,
          senderUserId,
          senderSessionId,
          timestamp: stamp,
        };
        const delivered =
          target !== senderUserId &&
          (this.registry.get(target)
            ? this.isRunningHere(target, packageName) && this.sendHere(target, packageName, received)
            : await this.sendElsewhere(target, packageName, received));
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
        if (msg.type === 'app_room_leave') {
          const room = await this.rooms.leave(packageName, roomId, senderUserId);
          if (room) await this.announceLeave(packageName, roomId, senderUserId, room);
          return { ok: true };
        }
        const config: RoomConfig = msg.roomConfig;
        // A join that raced the app's stop must not leave a member behind that nothing will remove.
        if (!this.track(session, packageName)) return { ok: true };
        const outcome = await this.rooms.join(packageName, roomId, senderUserId, this.maxRoomsPerUser, config);
        if (outcome.result === 'too_many_rooms')
          return {
            ok: false,
            code: 'RATE_LIMITED',
            message: `${senderUserId} is already in ${this.maxRoomsPerUser} rooms of ${packageName} (MAX_APP_ROOMS_PER_USER); leave one first`,
          };
        if (outcome.result === 'full')
          return {
            ok: false,
            code: 'CONFLICT',
            message: `Room ${roomId} is full (${outcome.room.memberCount} of ${outcome.room.maxUsers ?? 0})`,
          };
        if (outcome.result === 'joined') {
          const members = await this.rooms.members(packageName, roomId);
          for (const member of members) {
            if (member !== senderUserId)
              this.send(member, packageName, {
                type: 'app_user_joined',
                userId: senderUserId,
                sessionId: senderSessionId,
                roomId,
                joinedAt: stamp,
                timestamp: stamp,
              });
          }
          this.roomUpdated(members, packageName, roomId, 'user_joined', outcome.room);
        }
        return { ok: true };
      }
      default:
        return unhandled(msg);
    }
  }

  /**
   * Makes sure the session's rooms of this package are left when the app stops or the session ends (once per
   * session). False when the app is not running (any more), so nothing may be joined for it.
   */
  private track(session: UserSession, packageName: string): boolean {
    if (session.ctx.isDisposed || !session.connections.isRunning(packageName)) return false;
    let packages = this.tracked.get(session.ctx);
    if (!packages) {
      const mine = (packages = new Set<string>());
      this.tracked.set(session.ctx, mine);
      const userId = session.userId;
      session.ctx.on('appStopped', ({ packageName: stopped }) => {
        if (mine.delete(stopped)) void this.leaveAll(stopped, userId);
      });
      session.ctx.defer(() => Promise.all([...mine].map((pkg) => this.leaveAll(pkg, userId))));
    }
    packages.add(packageName);
    return true;
  }

  private async leaveAll(packageName: string, userId: string): Promise<void> {
    try {
      const left = await this.rooms.leaveAll(packageName, userId);
      for (const { roomId, room } of left) await this.announceLeave(packageName, roomId, userId, room);
    } catch (err) {
      this.logger.error(
        `leaving the rooms of ${userId}/${packageName} failed: ${(err as Error)?.stack ?? String(err)}`,
      );
    }
  }

  /** Tells the members left in the room (none when it was dropped) who left and how the room now is. */
  private async announceLeave(packageName: string, roomId: string, userId: string, room: RoomData): Promise<void> {
    if (room.memberCount === 0) return;
    const members = await this.rooms.members(packageName, roomId);
    const stamp = new Date().toISOString();
    for (const member of members)
      this.send(member, packageName, {
        type: 'app_user_left',
        userId,
        sessionId: appSessionId(userId, packageName),
        roomId,
        leftAt: stamp,
        timestamp: stamp,
      });
    this.roomUpdated(members, packageName, roomId, 'user_left', room);
  }

  /** The SDK's `app_room_updated` (`session.onAppRoomUpdated`) to every member. */
  private roomUpdated(
    members: string[],
    packageName: string,
    roomId: string,
    updateType: 'user_joined' | 'user_left',
    room: RoomData,
  ): void {
    const message: CloudToAppMessage<'app_room_updated'> = {
      type: 'app_room_updated',
      roomId,
      updateType,
      roomData: room,
      timestamp: new Date().toISOString(),
    };
    for (const member of members) this.send(member, packageName, message);
  }

  /** Rooms that exist now (every package). */
  roomCount(): Promise<number> {
    return this.rooms.count();
  }

  /** To the user's app here, or (clustered) on the process that holds the user, without waiting for it. */
  private send(userId: string, packageName: string, message: CloudToAppMessage): boolean {
    if (this.bus && !this.registry.get(userId)) {
      void this.sendElsewhere(userId, packageName, message);
      return false;
    }
    return this.sendHere(userId, packageName, message);
  }

  private sendHere(userId: string, packageName: string, message: CloudToAppMessage): boolean {
    const ok = this.registry.get(userId)?.connections.sendJson(packageName, message) ?? false;
    if (!ok) this.logger.debug(`could not deliver ${message.type} to ${userId}/${packageName}`);
    return ok;
  }

  /** Through the user's owner; false when nobody holds the user or the owner does not answer. */
  private async sendElsewhere(userId: string, packageName: string, message: CloudToAppMessage): Promise<boolean> {
    if (!this.bus) return false;
    try {
      const msg = message as unknown as Record<string, unknown>;
      return (await this.bus.toOwner(userId, 'app-messaging.direct', { userId, packageName, message: msg })).result
        .delivered;
    } catch (err) {
      this.logger.debug(`could not deliver to ${userId}/${packageName} on its process: ${errorMessage(err)}`);
      return false;
    }
  }
}
