import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { AudioModule } from '../audio/audio.module.js';
import { AudioOutputModule } from '../audio-stream/audio-output.module.js';
import { CalendarModule } from '../calendar/calendar.module.js';
import { DashboardModule } from '../dashboard/dashboard.module.js';
import { DeviceModule } from '../device/device.module.js';
import { DisplayModule } from '../display/display.module.js';
import { LocationModule } from '../location/location.module.js';
import { MicrophoneModule } from '../microphone/microphone.module.js';
import { PhoneModule } from '../phone/phone.module.js';
import { PhotoModule } from '../photo/photo.module.js';
import { SessionEventsModule } from '../session-events/session-events.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { RelayModule } from '../relay/relay.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { TranscriptionModule } from '../transcription/transcription.module.js';
import { TranslationModule } from '../translation/translation.module.js';
import { UserSettingsModule } from '../user-settings/user-settings.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { LazyManagerBuilder } from './lazy-manager.builder.js';
import { LAZY_BUILDER } from './lazy-managers.js';
import { SessionRegistry } from './session-registry.js';
import { UserSession } from './user-session.js';

/**
 * Provides the per-user UserSession: every manager module is imported here and resolved in the
 * user's context, by SessionRegistry (the managers every session needs) or on first use (LAZY_MANAGERS).
 * SessionRegistry is the only thing other modules use.
 */
@Module({
  imports: [
    SessionCoreModule,
    AppsModule,
    SubscriptionsModule,
    DeviceModule,
    MicrophoneModule,
    DisplayModule,
    RelayModule,
    AudioModule,
    TranscriptionModule,
    DashboardModule,
    LocationModule,
    CalendarModule,
    PhoneModule,
    TranslationModule,
    PhotoModule,
    StreamingModule,
    SessionEventsModule,
    UserSettingsModule,
    AudioOutputModule,
  ],
  providers: [UserSession, SessionRegistry, { provide: LAZY_BUILDER, useClass: LazyManagerBuilder }],
  exports: [SessionRegistry],
})
export class SessionModule {}
