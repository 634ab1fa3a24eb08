import { Global, Module } from '@nestjs/common';
import { CoreTokenService } from './core-token.service.js';

@Global()
@Module({ providers: [CoreTokenService], exports: [CoreTokenService] })
export class AuthModule {}
