import { Module, type DynamicModule } from '@nestjs/common';
import { MongooseModule, type MongooseModuleFactoryOptions } from '@nestjs/mongoose';
import { APP_REPOSITORY, USER_REPOSITORY } from '../persistence.types.js';
import { SIMPLE_STORAGE_REPOSITORY } from '../simple-storage.types.js';
import { StoreHealth } from '../store-health.js';
import { APP_MODEL, AppSchema } from './app.schema.js';
import { MongoAppRepository } from './mongo-app.repository.js';
import { MongoSimpleStorageRepository } from './mongo-simple-storage.repository.js';
import { MongoStoreHealth } from './mongo-store.health.js';
import { MongoUserRepository } from './mongo-user.repository.js';
import { SIMPLE_STORAGE_MODEL, SimpleStorageSchema } from './simple-storage.schema.js';
import { USER_MODEL, UserSchema } from './user.schema.js';

/** Connection options; exported so tests can check what the connection is opened with. */
export function mongoConnectionOptions(mongoUrl: string): MongooseModuleFactoryOptions {
  return {
    uri: mongoUrl,
    // Belt and braces next to assertKey: any `$` object that still reached a filter is wrapped in $eq.
    sanitizeFilter: true,
    serverSelectionTimeoutMS: 10_000,
  };
}

/** The MongoDB-backed store; PersistenceModule imports this one when MONGO_URL is set. */
@Module({})
export class MongoPersistenceModule {
  static register(mongoUrl: string): DynamicModule {
    return {
      module: MongoPersistenceModule,
      imports: [
        // MongooseModule closes the connection itself on application shutdown.
        MongooseModule.forRootAsync({
          useFactory: (): MongooseModuleFactoryOptions => mongoConnectionOptions(mongoUrl),
        }),
        MongooseModule.forFeature([
          { name: APP_MODEL, schema: AppSchema },
          { name: USER_MODEL, schema: UserSchema },
          { name: SIMPLE_STORAGE_MODEL, schema: SimpleStorageSchema },
        ]),
      ],
      providers: [
        MongoAppRepository,
        MongoUserRepository,
        { provide: APP_REPOSITORY, useExisting: MongoAppRepository },
        { provide: USER_REPOSITORY, useExisting: MongoUserRepository },
        { provide: StoreHealth, useClass: MongoStoreHealth },
        MongoSimpleStorageRepository,
        { provide: SIMPLE_STORAGE_REPOSITORY, useExisting: MongoSimpleStorageRepository },
      ],
      exports: [APP_REPOSITORY, USER_REPOSITORY, StoreHealth, SIMPLE_STORAGE_REPOSITORY],
    };
  }
}
