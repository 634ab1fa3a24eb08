/** What a room's creator may set (the SDK's `joinAppRoom(roomId, roomConfig)`); kept as given, within limits. */
export interface RoomConfig {
  maxUsers?: number;
  isPrivate?: boolean;
  metadata?: unknown;
}

/** The SDK's `app_room_updated.roomData`. */
export interface RoomData extends RoomConfig {
  memberCount: number;
}

export type JoinOutcome =
  | { result: 'joined'; room: RoomData }
  | { result: 'already'; room: RoomData }
  | { result: 'full'; room: RoomData }
  | { result: 'too_many_rooms' };

/**
 * App-to-app rooms of every package: who is in which room. A room exists while it has members (the first
 * join creates it, the last leave drops it). Behind an interface so several cloud instances can share it.
 */
export interface AppRoomStore {
  /** Adds the user unless the room is full or the user is already in `maxRoomsPerUser` rooms of the package. */
  join(
    packageName: string,
    roomId: string,
    userId: string,
    maxRoomsPerUser: number,
    config: RoomConfig,
  ): Promise<JoinOutcome>;
  /** The room as it is after the user left (memberCount 0: dropped); null when the user was not a member. */
  leave(packageName: string, roomId: string, userId: string): Promise<RoomData | null>;
  /** Takes the user out of every room of the package; returns each room left, as it is afterwards. */
  leaveAll(packageName: string, userId: string): Promise<Array<{ roomId: string; room: RoomData }>>;
  /** The members of a room; empty when there is no such room. */
  members(packageName: string, roomId: string): Promise<string[]>;
  /** Rooms that exist (of every package). */
  count(): Promise<number>;
}

export const APP_ROOM_STORE = Symbol('APP_ROOM_STORE');

interface Room {
  config: RoomConfig;
  members: Set<string>;
}

const key = (a: string, b: string) => `${a}\n${b}`;

/** One process's rooms, in memory. */
export class MemoryAppRoomStore implements AppRoomStore {
  /** package \n roomId → room */
  private readonly rooms = new Map<string, Room>();
  /** package \n userId → the user's rooms in that package */
  private readonly byUser = new Map<string, Set<string>>();

  join(
    packageName: string,
    roomId: string,
    userId: string,
    maxRoomsPerUser: number,
    config: RoomConfig,
  ): Promise<JoinOutcome> {
    const roomKey = key(packageName, roomId);
    const existing = this.rooms.get(roomKey);
    if (existing?.members.has(userId)) return Promise.resolve({ result: 'already', room: view(existing) });
    const mine = this.byUser.get(key(packageName, userId));
    if ((mine?.size ?? 0) >= maxRoomsPerUser) return Promise.resolve({ result: 'too_many_rooms' });
    if (existing && existing.config.maxUsers !== undefined && existing.members.size >= existing.config.maxUsers)
      return Promise.resolve({ result: 'full', room: view(existing) });
    const room = existing ?? { config, members: new Set<string>() };
    if (!existing) this.rooms.set(roomKey, room);
    room.members.add(userId);
    if (mine) mine.add(roomId);
    else this.byUser.set(key(packageName, userId), new Set([roomId]));
    return Promise.resolve({ result: 'joined', room: view(room) });
  }

  leave(packageName: string, roomId: string, userId: string): Promise<RoomData | null> {
    return Promise.resolve(this.leaveNow(packageName, roomId, userId));
  }

  leaveAll(packageName: string, userId: string): Promise<Array<{ roomId: string; room: RoomData }>> {
    const mine = this.byUser.get(key(packageName, userId));
    const left: Array<{ roomId: string; room: RoomData }> = [];
    for (const roomId of mine ? [...mine] : []) {
      const room = this.leaveNow(packageName, roomId, userId);
      if (room) left.push({ roomId, room });
    }
    return Promise.resolve(left);
  }

  members(packageName: string, roomId: string): Promise<string[]> {
    return Promise.resolve([...(this.rooms.get(key(packageName, roomId))?.members ?? [])]);
  }

  count(): Promise<number> {
    return Promise.resolve(this.rooms.size);
  }

  private leaveNow(packageName: string, roomId: string, userId: string): RoomData | null {
    const roomKey = key(packageName, roomId);
    const room = this.rooms.get(roomKey);
    if (!room?.members.delete(userId)) return null;
    if (room.members.size === 0) this.rooms.delete(roomKey);
    const userKey = key(packageName, userId);
    const mine = this.byUser.get(userKey);
    mine?.delete(roomId);
    if (mine?.size === 0) this.byUser.delete(userKey);
    return view(room);
  }
}

function view(room: Room): RoomData {
  return { memberCount: room.members.size, ...room.config };
}
