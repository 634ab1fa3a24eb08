import { Module, type DynamicModule } from '@nestjs/common';
import { APP_REPOSITORY, USER_REPOSITORY } from '../persistence.types.js';
import { SIMPLE_STORAGE_REPOSITORY } from '../simple-storage.types.js';
import { StoreHealth } from '../store-health.js';
import { EmbeddedAppRepository } from './embedded-app.repository.js';
import { EmbeddedSimpleStorageRepository } from './embedded-simple-storage.repository.js';
import { EmbeddedSimpleStorageStore } from './embedded-simple-storage.store.js';
import { EmbeddedStoreHealth } from './embedded-store.health.js';
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded.store.js';
import { EmbeddedUserRepository } from './embedded-user.repository.js';

/** The nedb-backed store; PersistenceModule imports this one when no MONGO_URL is configured. */
@Module({})
export class EmbeddedPersistenceModule {
  static register(options: EmbeddedStoreOptions): DynamicModule {
    return {
      module: EmbeddedPersistenceModule,
      providers: [
        // An async factory so the app only starts once both files are loaded and indexed. Nest still calls
        // the instance's beforeApplicationShutdown, which compacts the files.
        { provide: EmbeddedStore, useFactory: (): Promise<EmbeddedStore> => EmbeddedStore.open(options) },
        EmbeddedAppRepository,
        EmbeddedUserRepository,
        { provide: APP_REPOSITORY, useExisting: EmbeddedAppRepository },
        { provide: USER_REPOSITORY, useExisting: EmbeddedUserRepository },
        { provide: StoreHealth, useClass: EmbeddedStoreHealth },
        // Simple storage has a file of its own (simple-storage.db), opened the same way.
        {
          provide: EmbeddedSimpleStorageStore,
          useFactory: (): Promise<EmbeddedSimpleStorageStore> =>
            EmbeddedSimpleStorageStore.open({ dataDir: options.dataDir }),
        },
        EmbeddedSimpleStorageRepository,
        { provide: SIMPLE_STORAGE_REPOSITORY, useExisting: EmbeddedSimpleStorageRepository },
      ],
      exports: [APP_REPOSITORY, USER_REPOSITORY, StoreHealth, SIMPLE_STORAGE_REPOSITORY],
    };
  }
}
