import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_ROOM_STORE, MemoryAppRoomStore } from '../app-messaging/app-rooms.js';
import type { AppConfig } from '../config/config.types.js';
import { INGEST_KEY_DIRECTORY } from '../streaming/managed/ingest-keys.js';
import { MemoryTempTokenStore, TEMP_TOKEN_STORE } from '../webview-auth/temp-token.store.js';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { clusterRedisUrl } from '../cluster/cluster.module.js';
import { RedisLink } from '../cluster/redis-link.js';
import { ClusterIngestKeys } from './cluster-ingest-keys.js';
import { RedisAppRoomStore } from './redis-app-room.store.js';
import { RedisTempTokenStore } from './redis-temp-token.store.js';

/**
 * The state a user's requests may need on any process, behind the interfaces its modules define: webview temp
 * tokens, app rooms and managed-stream keys. In memory on a single process; in the cluster's Redis when
 * clustered (REDIS_URL), so that what one process issued another can accept.
 */
@Global()
@Module({})
export class SharedStateModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!clusterRedisUrl(config)) {
      return {
        module: SharedStateModule,
        providers: [
          { provide: TEMP_TOKEN_STORE, useClass: MemoryTempTokenStore },
          { provide: APP_ROOM_STORE, useClass: MemoryAppRoomStore },
        ],
        exports: [TEMP_TOKEN_STORE, APP_ROOM_STORE],
      };
    }
    return {
      module: SharedStateModule,
      providers: [
        {
          provide: TEMP_TOKEN_STORE,
          useFactory: (link: RedisLink) => new RedisTempTokenStore(link.commands),
          inject: [RedisLink],
        },
        {
          provide: APP_ROOM_STORE,
          useFactory: (link: RedisLink) => new RedisAppRoomStore(link.commands),
          inject: [RedisLink],
        },
        {
          provide: INGEST_KEY_DIRECTORY,
          useFactory: (link: RedisLink, bus: ClusterBus) => new ClusterIngestKeys(link, bus),
          inject: [RedisLink, ClusterBus],
        },
      ],
      exports: [TEMP_TOKEN_STORE, APP_ROOM_STORE, INGEST_KEY_DIRECTORY],
    };
  }
}
