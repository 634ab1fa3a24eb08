import { Module, type DynamicModule } from '@nestjs/common';
import { APP_REPOSITORY, USER_REPOSITORY } from '../persistence.types.js';
import { StoreHealth } from '../store-health.js';
import { EmbeddedAppRepository } from './embedded-app.repository.js';
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
      ],
      exports: [APP_REPOSITORY, USER_REPOSITORY, StoreHealth],
    };
  }
}
