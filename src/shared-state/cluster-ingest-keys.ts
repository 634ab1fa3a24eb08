import { Logger } from '@nestjs/common';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import type { IngestKeyDirectory, IngestKeyRegistry } from '../streaming/managed/ingest-keys.js';
import type { ClusterBus } from '../cluster/cluster-bus.js';
import type { RedisLink } from '../cluster/redis-link.js';
import { SHARED_KEYS } from './shared-keys.js';

/** A key outlives any stream; it is deleted when its stream stops, this only bounds what a killed process leaves. */
const KEY_TTL_S = 7 * 24 * 3600;

/** KEYS: the key's hash. Marks it published once; {userId, playbackName, nodeId}, or nil (unknown or used). */
const CLAIM = `
local v = redis.call('HMGET', KEYS[1], 'userId', 'playbackName', 'nodeId', 'published')
if not v[1] or v[4] then return false end
redis.call('HSET', KEYS[1], 'published', '1')
return {v[1], v[2], v[3]}
`;

/**
 * Managed-stream keys readable by every process: nginx-rtmp's `on_publish` may reach any of them. The key's user,
 * playback name and the process that made it are a Redis hash; a publish claims the key there once (a second
 * publisher is refused wherever it lands) and the stream's state change is carried out by the user's owner over
 * the bus (`toOwner`), or by the process that made the key when no lease names an owner.
 */
export class ClusterIngestKeys implements IngestKeyDirectory {
  private readonly logger = new Logger('IngestKeys');

  constructor(
    private readonly link: RedisLink,
    private readonly bus: ClusterBus,
  ) {}

  attach(local: IngestKeyRegistry): void {
    this.bus.handle('ingest.publish', ({ key }) => ({ applied: local.publishLocal(key) !== null }));
    this.bus.handle('ingest.publish-done', ({ key }) => ({ applied: local.publishDoneLocal(key) }));
  }

  async add(key: string, entry: { userId: string; playbackName: string }): Promise<void> {
    const k = SHARED_KEYS.ingestKey(key);
    await this.link.commands
      .multi()
      .hset(k, { userId: entry.userId, playbackName: entry.playbackName, nodeId: this.bus.nodeId })
      .expire(k, KEY_TTL_S)
      .exec();
  }

  async remove(key: string): Promise<void> {
    await this.link.commands.del(SHARED_KEYS.ingestKey(key));
  }

  async publish(key: string): Promise<string | null> {
    const claimed = (await this.link.commands.eval(CLAIM, 1, SHARED_KEYS.ingestKey(key))) as
      [string, string, string] | null;
    if (!claimed) return null;
    const [userId, playbackName, nodeId] = claimed;
    const applied = await this.onOwner(userId, nodeId, 'ingest.publish', key);
    return applied ? playbackName : null;
  }

  async publishDone(key: string): Promise<void> {
    const k = SHARED_KEYS.ingestKey(key);
    const [userId, nodeId] = await this.link.commands.hmget(k, 'userId', 'nodeId');
    if (!userId) return;
    await this.link.commands.del(k);
    await this.onOwner(userId, nodeId ?? '', 'ingest.publish-done', key);
  }

  private async onOwner(
    userId: string,
    madeBy: string,
    type: 'ingest.publish' | 'ingest.publish-done',
    key: string,
  ): Promise<boolean> {
    try {
      return (await this.bus.toOwner(userId, type, { key })).result.applied;
    } catch (err) {
      if (!(err instanceof CloudError && err.code === 'SESSION_NOT_FOUND') || !madeBy) {
        this.logger.warn(`${type} of ${userId}'s stream could not reach its process: ${errorMessage(err)}`);
        return false;
      }
    }
    try {
      return (await this.bus.request(madeBy, type, { key })).applied;
    } catch (err) {
      this.logger.warn(`${type} of ${userId}'s stream could not reach ${madeBy}: ${errorMessage(err)}`);
      return false;
    }
  }
}
