import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAppRoomStore, type AppRoomStore } from '../../src/app-messaging/app-rooms.js';
import { RedisAppRoomStore } from '../../src/shared-state/redis-app-room.store.js';
import { RedisTempTokenStore } from '../../src/shared-state/redis-temp-token.store.js';
import { MemoryTempTokenStore, type TempTokenStore } from '../../src/webview-auth/temp-token.store.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let redis: RedisServer;
let client: Redis;
beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: false });
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

/** The same decisions from the memory store and the Redis one: the Redis one is what a cluster uses instead. */
describe.each([
  ['memory', () => new MemoryAppRoomStore() as AppRoomStore],
  ['redis', () => new RedisAppRoomStore(client) as AppRoomStore],
])('AppRoomStore (%s)', (_kind, make) => {
  it('joins, refuses a full room and a user in too many rooms, leaves, and drops an empty room', async () => {
    const rooms = make();
    const pkg = `com.rooms.${_kind}`;
    const before = await rooms.count();
    expect(await rooms.join(pkg, 'r1', 'ann', 2, { maxUsers: 2, metadata: { topic: 't' } })).toEqual({
      result: 'joined',
      room: { memberCount: 1, maxUsers: 2, metadata: { topic: 't' } },
    });
    expect(await rooms.join(pkg, 'r1', 'ann', 2, {})).toMatchObject({ result: 'already', room: { memberCount: 1 } });
    // The creator's config is kept: a later joiner's is ignored.
    expect(await rooms.join(pkg, 'r1', 'ben', 2, { maxUsers: 9 })).toMatchObject({
      result: 'joined',
      room: { memberCount: 2, maxUsers: 2 },
    });
    expect(await rooms.join(pkg, 'r1', 'cat', 2, {})).toMatchObject({ result: 'full', room: { memberCount: 2 } });
    expect(await rooms.join(pkg, 'r2', 'ann', 2, {})).toMatchObject({ result: 'joined' });
    expect(await rooms.join(pkg, 'r3', 'ann', 2, {})).toEqual({ result: 'too_many_rooms' });
    expect(await rooms.count()).toBe(before + 2);
    expect((await rooms.members(pkg, 'r1')).sort()).toEqual(['ann', 'ben']);
    expect(await rooms.leave(pkg, 'r1', 'cat')).toBeNull();
    expect(await rooms.leave(pkg, 'r1', 'ben')).toMatchObject({ memberCount: 1, maxUsers: 2 });
    const left = await rooms.leaveAll(pkg, 'ann');
    expect(left.map((l) => [l.roomId, l.room.memberCount]).sort()).toEqual([
      ['r1', 0],
      ['r2', 0],
    ]);
    expect(await rooms.members(pkg, 'r1')).toEqual([]);
    expect(await rooms.count()).toBe(before);
    // Dropped with its config: the next creator sets a new one.
    expect(await rooms.join(pkg, 'r1', 'cat', 2, {})).toEqual({ result: 'joined', room: { memberCount: 1 } });
  });
});

describe.each([
  ['memory', () => new MemoryTempTokenStore() as TempTokenStore],
  ['redis', () => new RedisTempTokenStore(client) as TempTokenStore],
])('TempTokenStore (%s)', (kind, make) => {
  it('keeps at most maxPerUser unexpired tokens per user, takes each once, and forgets expired ones', async () => {
    const store = make();
    const user = `u-${kind}`;
    const now = Date.now();
    const entry = (expiresAt: number) => ({ userId: user, packageName: 'com.x', expiresAt });
    expect(await store.add(`${kind}-a`, entry(now + 60_000), 2, now)).toBe(true);
    expect(await store.add(`${kind}-b`, entry(now + 60_000), 2, now)).toBe(true);
    expect(await store.add(`${kind}-c`, entry(now + 60_000), 2, now)).toBe(false);
    expect(await store.take(`${kind}-c`)).toBeNull();
    expect(await store.take(`${kind}-a`)).toEqual(entry(now + 60_000));
    expect(await store.take(`${kind}-a`)).toBeNull();
    expect(await store.add(`${kind}-c`, entry(now + 60_000), 2, now)).toBe(true);
    // Later, b and c have expired: they no longer count against the cap.
    const later = now + 61_000;
    expect(await store.add(`${kind}-d`, entry(later + 60_000), 2, later)).toBe(true);
    expect(await store.add(`${kind}-e`, entry(later + 60_000), 2, later)).toBe(true);
    expect(await store.add(`${kind}-f`, entry(later + 60_000), 2, later)).toBe(false);
  });
});

describe('RedisTempTokenStore', () => {
  it('keys a token by its hash only, and lets Redis expire it with the token', async () => {
    const store = new RedisTempTokenStore(client);
    const token = 'a-secret-token-value';
    await store.add(token, { userId: 'hashed@x', packageName: 'com.x', expiresAt: Date.now() + 200 }, 5, Date.now());
    const keys = await client.keys('cluster:webview-temp*');
    expect(keys.some((k) => k.includes(token))).toBe(false);
    const key = `cluster:webview-temp:${createHash('sha256').update(token).digest('hex')}`;
    expect(keys).toContain(key);
    expect(await client.pttl(key)).toBeGreaterThan(0);
    expect(await client.pttl(key)).toBeLessThanOrEqual(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await store.take(token)).toBeNull();
  });
});
