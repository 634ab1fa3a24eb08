import { Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { AppManager } from '../apps/app-manager.js';
import { AudioManager } from '../audio/audio-manager.js';
import { AudioOutputManager } from '../audio-stream/audio-output-manager.js';
import { CalendarManager } from '../calendar/calendar-manager.js';
import { DashboardManager } from '../dashboard/dashboard-manager.js';
import { DeviceManager } from '../device/device-manager.js';
import { DisplayManager } from '../display/display-manager.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import { LocationManager } from '../location/location-manager.js';
import { PhoneRequests } from '../phone/phone-requests.js';
import { PhotoManager } from '../photo/photo-manager.js';
import { ManagedStreamingManager } from '../streaming/managed-streaming-manager.js';
import { VideoManager } from '../streaming/video-manager.js';
import { EventRelay } from '../relay/event-relay.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { TranscriptionManager } from '../transcription/transcription-manager.js';
import { TranslationManager } from '../translation/translation-manager.js';
import { UserSettingsManager } from '../user-settings/user-settings.manager.js';
import { SessionContext } from '../session-core/session-context.js';

export interface SessionSummary {
  userId: string;
  startTime: string;
  disconnectedAt: string | null;
  glassesConnected: boolean;
  runningApps: string[];
  loadingApps: string[];
  apps: ReturnType<AppManager['describe']>;
  subscriptions: Record<string, string[]>;
  modelName: string | null;
  capabilities: DeviceManager['capabilities'];
  microphone: MicrophoneManager['state'];
  isTranscribing: boolean;
  display: ReturnType<DisplayManager['describe']>;
  dashboard: ReturnType<DashboardManager['describe']>;
  location: { tier: string; lastFix: LocationManager['fix']; pendingPolls: number };
  device: ReturnType<DeviceManager['snapshot']>;
  audio: { pendingPlays: number; recentAudioBytes: number; lastAudioAt: string | null };
  transcription: ReturnType<TranscriptionManager['describe']>;
  translation: ReturnType<TranslationManager['describe']>;
  media: {
    pendingPhotos: number;
    stream: { streamId: string; packageName: string; status: string; managed: boolean } | null;
  };
  counters: { relayedEvents: number; deliveredFrames: number; audioFrames: number; audioBytes: number };
}

/**
 * One user's session: the glasses socket (in the context), the apps and one manager per concern, all
 * resolved once per user in one DI context. Built only by SessionRegistry.
 */
@Injectable({ scope: Scope.REQUEST })
export class UserSession {
  constructor(
    readonly ctx: SessionContext,
    readonly apps: AppManager,
    readonly connections: AppConnections,
    readonly subscriptions: SubscriptionManager,
    readonly device: DeviceManager,
    readonly microphone: MicrophoneManager,
    readonly display: DisplayManager,
    readonly relay: EventRelay,
    readonly audio: AudioManager,
    readonly transcription: TranscriptionManager,
    readonly dashboard: DashboardManager,
    readonly location: LocationManager,
    readonly calendar: CalendarManager,
    readonly phone: PhoneRequests,
    readonly translation: TranslationManager,
    readonly photo: PhotoManager,
    readonly video: VideoManager,
    readonly managedStreaming: ManagedStreamingManager,
    readonly userSettings: UserSettingsManager,
    readonly audioOutput: AudioOutputManager,
  ) {}

  get userId(): string {
    return this.ctx.userId;
  }

  summary(): SessionSummary {
    return {
      userId: this.ctx.userId,
      startTime: this.ctx.startTime.toISOString(),
      disconnectedAt: this.ctx.disconnectedAt?.toISOString() ?? null,
      glassesConnected: this.ctx.glassesOpen,
      runningApps: this.apps.runningApps(),
      loadingApps: this.apps.loadingApps(),
      apps: this.apps.describe(),
      subscriptions: this.subscriptions.all(),
      modelName: this.device.modelName,
      capabilities: this.device.capabilities,
      microphone: this.microphone.state,
      isTranscribing: this.transcription.isTranscribing,
      display: this.display.describe(),
      dashboard: this.dashboard.describe(),
      location: {
        tier: this.location.effectiveTier,
        lastFix: this.location.fix,
        pendingPolls: this.location.pendingPolls,
      },
      device: this.device.snapshot(),
      transcription: this.transcription.describe(),
      translation: this.translation.describe(),
      media: {
        pendingPhotos: this.photo.pendingCount,
        stream: this.video.current
          ? {
              streamId: this.video.current.streamId,
              packageName: this.video.current.packageName,
              status: this.video.current.status,
              managed: !!this.video.current.onStatus,
            }
          : null,
      },
      audio: {
        pendingPlays: this.audio.pendingPlays,
        recentAudioBytes: this.audio.recentAudio().length,
        lastAudioAt: this.audio.lastAudioAt ? new Date(this.audio.lastAudioAt).toISOString() : null,
      },
      counters: {
        relayedEvents: this.relay.relayed,
        deliveredFrames: this.relay.delivered,
        audioFrames: this.audio.framesReceived,
        audioBytes: this.audio.bytesReceived,
      },
    };
  }

  dispose(): Promise<unknown[]> {
    return this.ctx.dispose();
  }
}
