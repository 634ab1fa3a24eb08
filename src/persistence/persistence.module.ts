import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from '../config/config.types.js';
import { EmbeddedPersistenceModule } from './embedded/embedded-persistence.module.js';
import { MongoPersistenceModule } from './mongo/mongo-persistence.module.js';

/**
 * Provides APP_REPOSITORY, USER_REPOSITORY, SIMPLE_STORAGE_REPOSITORY and StoreHealth to the whole app: MongoDB when `mongoUrl` is set,
 * otherwise the embedded nedb files under `dataDir`. Only the two config fields it reads are required, so
 * tests can pass a partial config.
 */
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(config: Pick<AppConfig, 'dataDir' | 'mongoUrl'>): DynamicModule {
    const store = config.mongoUrl
      ? MongoPersistenceModule.register(config.mongoUrl)
      : EmbeddedPersistenceModule.register({ dataDir: config.dataDir });
    return { module: PersistenceModule, global: true, imports: [store], exports: [store] };
  }
}
