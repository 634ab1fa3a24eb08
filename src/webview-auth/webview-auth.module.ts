import { Module } from '@nestjs/common';
import { WebviewAuthController } from './webview-auth.controller.js';
import { WebviewAuthService } from './webview-auth.service.js';
import { WebviewKeys } from './webview-keys.js';

@Module({ providers: [WebviewKeys, WebviewAuthService], controllers: [WebviewAuthController] })
export class WebviewAuthModule {}
