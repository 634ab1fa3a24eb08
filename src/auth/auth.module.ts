import { Global, Module } from '@nestjs/common';
import { CoreTokenService } from './core-token.service.js';
import { TOKEN_VERSION_STORE, UserRecordTokenVersions } from './token-version.store.js';

@Global()
@Module({
  providers: [CoreTokenService, { provide: TOKEN_VERSION_STORE, useClass: UserRecordTokenVersions }],
  exports: [CoreTokenService, TOKEN_VERSION_STORE],
})
export class AuthModule {}
