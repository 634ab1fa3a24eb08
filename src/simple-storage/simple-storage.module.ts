import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { AppCredentialGuard } from './app-credential.guard.js';
import { SimpleStorageController } from './simple-storage.controller.js';

/** The SDK's simple storage over HTTP. Repositories come from the global PersistenceModule. */
@Module({
  imports: [SessionModule],
  controllers: [SimpleStorageController],
  providers: [AppCredentialGuard],
  exports: [AppCredentialGuard],
})
export class SimpleStorageModule {}
