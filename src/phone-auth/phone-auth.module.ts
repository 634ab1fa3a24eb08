import { Module } from '@nestjs/common';
import { PhoneAuthController } from './phone-auth.controller.js';
import { PhoneAuthService } from './phone-auth.service.js';

/** The phone's sign-in (`POST /auth/exchange-token`); core tokens come from the global AuthModule. */
@Module({ controllers: [PhoneAuthController], providers: [PhoneAuthService] })
export class PhoneAuthModule {}
