import type { Redis } from 'ioredis';
import type { AppRoomStore, JoinOutcome, RoomConfig, RoomData } from '../app-messaging/app-rooms.js';
import { SHARED_KEYS } from './shared-keys.js';

/**
 * KEYS: members, config, user's rooms, room index. ARGV: userId, roomId, maxRoomsPerUser, config JSON, index entry.
 * Returns {outcome, memberCount, config JSON}: the same decisions as MemoryAppRoomStore, in one step.
 */
const JOIN = `
local cfg = redis.call('GET', KEYS[2])
local n = redis.call('SCARD', KEYS[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {'already', n, cfg} end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'too_many_rooms', 0, false} end
if n > 0 and cfg then
  local max = cjson.decode(cfg).maxUsers
  if type(max) == 'number' and n >= max then return {'full', n, cfg} end
else
  cfg = ARGV[4]
  redis.call('SET', KEYS[2], cfg)
  redis.call('SADD', KEYS[4], ARGV[5])
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return {'joined', n + 1, cfg}
`;

/** KEYS: members, config, user's rooms, room index. ARGV: userId, roomId, index entry. Nil when not a member. */
const LEAVE = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return false end
redis.call('SREM', KEYS[3], ARGV[2])
local n = redis.call('SCARD', KEYS[1])
local cfg = redis.call('GET', KEYS[2])
if n == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[4], ARGV[3])
end
return {n, cfg}
`;

type Reply = [string, number, string | null];

/**
 * App rooms shared by every process: members of one room may run on different processes. A room's members, its
 * config and each user's rooms are Redis sets and a string, changed by one script per join or leave, so two
 * processes can never both take a room's last place. A process that dies leaves its users' memberships behind
 * until their apps leave (or stop, elsewhere, after the failover).
 */
export class RedisAppRoomStore implements AppRoomStore {
  constructor(private readonly redis: Redis) {}

  async join(
    packageName: string,
    roomId: string,
    userId: string,
    maxRoomsPerUser: number,
    config: RoomConfig,
  ): Promise<JoinOutcome> {
    const [result, count, cfg] = (await this.redis.eval(
      JOIN,
      4,
      ...this.keys(packageName, roomId, userId),
      userId,
      roomId,
      String(maxRoomsPerUser),
      JSON.stringify(config),
      `${packageName}\n${roomId}`,
    )) as Reply;
    if (result === 'too_many_rooms') return { result };
    return { result: result as 'joined' | 'already' | 'full', room: view(count, cfg) };
  }

  async leave(packageName: string, roomId: string, userId: string): Promise<RoomData | null> {
    const reply = (await this.redis.eval(
      LEAVE,
      4,
      ...this.keys(packageName, roomId, userId),
      userId,
      roomId,
      `${packageName}\n${roomId}`,
    )) as [number, string | null] | null;
    return reply ? view(reply[0], reply[1]) : null;
  }

  async leaveAll(packageName: string, userId: string): Promise<Array<{ roomId: string; room: RoomData }>> {
    const rooms = await this.redis.smembers(SHARED_KEYS.roomsOf(packageName, userId));
    const left: Array<{ roomId: string; room: RoomData }> = [];
    for (const roomId of rooms) {
      const room = await this.leave(packageName, roomId, userId);
      if (room) left.push({ roomId, room });
    }
    return left;
  }

  members(packageName: string, roomId: string): Promise<string[]> {
    return this.redis.smembers(SHARED_KEYS.roomMembers(packageName, roomId));
  }

  count(): Promise<number> {
    return this.redis.scard(SHARED_KEYS.roomIndex);
  }

  private keys(packageName: string, roomId: string, userId: string): [string, string, string, string] {
    return [
      SHARED_KEYS.roomMembers(packageName, roomId),
      SHARED_KEYS.roomConfig(packageName, roomId),
      SHARED_KEYS.roomsOf(packageName, userId),
      SHARED_KEYS.roomIndex,
    ];
  }
}

function view(memberCount: number, config: string | null): RoomData {
  return { memberCount, ...(config ? (JSON.parse(config) as RoomConfig) : {}) };
}
