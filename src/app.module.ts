import { Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AdminModule } from './admin/admin.module.js';
import { AppSettingsModule } from './app-settings/app-settings.module.js';
import { AppWsModule } from './app-ws/app-ws.module.js';
import { AudioStreamModule } from './audio-stream/audio-stream.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ClientApiModule } from './client-api/client-api.module.js';
import { ClusterModule } from './cluster/cluster.module.js';
import { SharedStateModule } from './shared-state/shared-state.module.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { ConfigModule } from './config/config.module.js';
import type { AppConfig } from './config/config.types.js';
import { GlassesWsModule } from './glasses-ws/glasses-ws.module.js';
import { HealthModule } from './health/health.module.js';
import { LimitsModule } from './limits/limits.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { PermissionsModule } from './permissions/permissions.module.js';
import { PersistenceModule } from './persistence/persistence.module.js';
import { PhoneAuthModule } from './phone-auth/phone-auth.module.js';
import { SimpleStorageModule } from './simple-storage/simple-storage.module.js';
import { TtsModule } from './tts/tts.module.js';
import { IngestCallbacksModule } from './streaming/ingest-callbacks.module.js';
import { WebviewAuthModule } from './webview-auth/webview-auth.module.js';
import { WebUiModule } from './web-ui/web-ui.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        PersistenceModule.forRoot(config),
        ClusterModule.forRoot(config),
        SharedStateModule.forRoot(config),
        ScheduleModule.forRoot(),
        ObservabilityModule,
        LimitsModule,
        AuthModule,
        GlassesWsModule,
        AppWsModule,
        AdminModule,
        HealthModule,
        SimpleStorageModule,
        AppSettingsModule,
        PermissionsModule,
        TtsModule,
        IngestCallbacksModule,
        WebviewAuthModule,
        WebUiModule,
        PhoneAuthModule,
        ClientApiModule,
        AudioStreamModule,
      ],
      providers: [
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            forbidUnknownValues: true,
            stopAtFirstError: false,
          }),
        },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
