import type { Redis } from 'ioredis';

/**
 * The lease operations as Lua, so each check-and-change is atomic in Redis. A lease's value is
 * `<token>|<nodeId>`: the token comes from INCR on one counter, so a later owner always holds a larger one, and
 * comparing the whole value refuses a stale owner even if a node id were reused.
 */

/** The value of a new lease in `v`: the next fence token (above ARGV[3], the floor) and this node (ARGV[1]). */
const MINT = `
local t = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if t <= floor then
  t = floor + 1
  redis.call('SET', KEYS[2], t)
end
local v = t .. '|' .. ARGV[1]
`;

/** KEYS: lease, fence. ARGV: nodeId, ttlMs, floor. Set-if-absent; returns {1, value} or {0, current holder}. */
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur} end
${MINT}redis.call('SET', KEYS[1], v, 'PX', ARGV[2], 'NX')
return {1, v}
`;

/** KEYS: lease, fence. ARGV: nodeId, ttlMs, floor, expected. Replaces the lease only while it is still `expected` (or gone). */
const TAKE_OVER = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[4] then return {0, cur} end
${MINT}redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {1, v}
`;

/** KEYS: leases. ARGV: ttlMs, then one expected value per key. Per key: 1 renewed, 0 gone, or the other holder's value. */
const RENEW_MANY = `
local out = {}
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if cur == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  elseif cur then
    out[i] = cur
  else
    out[i] = 0
  end
end
return out
`;

/** KEYS: lease. ARGV: expected. Deletes only its own lease. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * KEYS: lease, then one key per command. ARGV: expected lease value, then per command its name, its argument
 * count and the arguments. Runs every command, or none when the lease is no longer `expected`.
 */
const FENCED_WRITE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local a = 2
for k = 2, #KEYS do
  local n = tonumber(ARGV[a + 1])
  local call = {ARGV[a], KEYS[k]}
  for j = 1, n do call[#call + 1] = ARGV[a + 1 + j] end
  redis.call(unpack(call))
  a = a + 2 + n
end
return 1
`;

type Reply = [0 | 1, string];

/** The scripts as commands of one client (and its pipelines); ioredis sends EVALSHA and reloads after a restart. */
export interface LeaseCommands {
  leaseAcquire(lease: string, fence: string, nodeId: string, ttlMs: number, floor: number): Promise<Reply>;
  leaseTakeOver(
    lease: string,
    fence: string,
    nodeId: string,
    ttlMs: number,
    floor: number,
    expected: string,
  ): Promise<Reply>;
  leaseRelease(lease: string, expected: string): Promise<0 | 1>;
  leaseFencedWrite(numKeys: number, ...args: Array<string | number>): Promise<0 | 1>;
}

export interface LeasePipeline {
  leaseRenewMany(numKeys: number, ...args: Array<string | number>): LeasePipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

export function defineLeaseCommands(redis: Redis): Redis & LeaseCommands {
  redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('leaseTakeOver', { numberOfKeys: 2, lua: TAKE_OVER });
  redis.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('leaseRenewMany', { lua: RENEW_MANY });
  redis.defineCommand('leaseFencedWrite', { lua: FENCED_WRITE });
  return redis as Redis & LeaseCommands;
}
