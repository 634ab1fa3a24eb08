import { Module, type DynamicModule } from '@nestjs/common';
import { APP_REPOSITORY, USER_REPOSITORY } from '../persistence.types.js';
import { SIMPLE_STORAGE_REPOSITORY } from '../simple-storage.types.js';
import { StoreHealth } from '../store-health.js';
import { RedisAppRepository } from './redis-app.repository.js';
import { RedisRecords } from './redis-records.js';
import { RedisSimpleStorageRepository } from './redis-simple-storage.repository.js';
import { RedisStoreConnection } from './redis-store.connection.js';
import { RedisStoreHealth } from './redis-store.health.js';
import { RedisUserRepository } from './redis-user.repository.js';

/** The Redis-backed store; PersistenceModule imports this one (lazily) when STORE=redis. */
@Module({})
export class RedisPersistenceModule {
  static register(redisUrl: string): DynamicModule {
    return {
      module: RedisPersistenceModule,
      providers: [
        // Async: the app only starts once Redis answers. Nest calls its onApplicationShutdown, which closes it.
        { provide: RedisStoreConnection, useFactory: () => RedisStoreConnection.open(redisUrl) },
        {
          provide: RedisRecords,
          useFactory: (connection: RedisStoreConnection) => new RedisRecords(connection.client, connection.where),
          inject: [RedisStoreConnection],
        },
        RedisAppRepository,
        RedisUserRepository,
        RedisSimpleStorageRepository,
        { provide: APP_REPOSITORY, useExisting: RedisAppRepository },
        { provide: USER_REPOSITORY, useExisting: RedisUserRepository },
        { provide: SIMPLE_STORAGE_REPOSITORY, useExisting: RedisSimpleStorageRepository },
        { provide: StoreHealth, useClass: RedisStoreHealth },
      ],
      exports: [APP_REPOSITORY, USER_REPOSITORY, StoreHealth, SIMPLE_STORAGE_REPOSITORY],
    };
  }
}
