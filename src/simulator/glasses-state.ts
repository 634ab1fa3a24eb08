import type {
  CloudToGlassesMessage,
  DisplayEvent,
  LocationTier,
  MicRequiredData,
  MicrophoneStateChange,
  RtmpStreamStatusValue,
  ViewName,
} from './glasses-protocol.types.js';
import { isClearingLayout } from './layout-text.js';

/**
 * What the simulated phone remembers from the cloud's messages. Plain data (no Maps) so the
 * CLI and the web page can print or serialize it as-is.
 */

export interface RtmpStreamState {
  streamId: string;
  appId: string;
  rtmpUrl: string;
  status: RtmpStreamStatusValue;
  keepAlivesReceived: number;
  lastAckId: string | null;
}

export interface GlassesState {
  /** The socket is open (not the Bluetooth link, which the simulator always reports as up). */
  connected: boolean;
  sessionId: string | null;
  /** Last display_event per view; null once cleared. */
  display: Record<ViewName, DisplayEvent | null>;
  micEnabled: boolean;
  requiredData: MicRequiredData[];
  bypassVad: boolean;
  lastMicMessage: MicrophoneStateChange | null;
  locationTier: LocationTier | null;
  rtmpStreams: Record<string, RtmpStreamState>;
  appStateChanges: number;
  led: CloudToGlassesMessage<'rgb_led_control'> | null;
  lastError: CloudToGlassesMessage<'connection_error'> | null;
  /** What `setLocation()` last reported; also the answer to location polls. */
  location: { lat: number; lng: number; accuracy?: number };
}

export function initialGlassesState(): GlassesState {
  return {
    connected: false,
    sessionId: null,
    display: { main: null, dashboard: null },
    micEnabled: false,
    requiredData: [],
    bypassVad: false,
    lastMicMessage: null,
    locationTier: null,
    rtmpStreams: {},
    appStateChanges: 0,
    led: null,
    lastError: null,
    location: { lat: 0, lng: 0 },
  };
}

/**
 * Applies one received message to the phone state, like the phone app would.
 * Returns the streams a stop command removed, so the caller can report them stopped.
 */
export function applyCloudMessage(s: GlassesState, msg: CloudToGlassesMessage): RtmpStreamState[] {
  const stopped: RtmpStreamState[] = [];
  switch (msg.type) {
    case 'connection_ack':
      s.sessionId = msg.sessionId;
      break;
    case 'connection_error':
      s.lastError = msg;
      break;
    case 'display_event': {
      const view: ViewName = msg.view === 'dashboard' ? 'dashboard' : 'main';
      s.display[view] = isClearingLayout(msg.layout) ? null : msg;
      break;
    }
    case 'microphone_state_change':
      s.micEnabled = msg.isMicrophoneEnabled === true;
      s.requiredData = Array.isArray(msg.requiredData) ? msg.requiredData : [];
      s.bypassVad = msg.bypassVad === true;
      s.lastMicMessage = msg;
      break;
    case 'app_state_change':
      s.appStateChanges++;
      break;
    case 'set_location_tier':
      s.locationTier = msg.tier;
      break;
    case 'rgb_led_control':
      s.led = msg;
      break;
    case 'start_rtmp_stream':
    case 'start_stream': {
      const streamId = msg.streamId ?? '';
      s.rtmpStreams[streamId] = {
        streamId,
        appId: msg.appId,
        rtmpUrl: msg.rtmpUrl ?? ('streamUrl' in msg ? (msg.streamUrl ?? '') : ''),
        status: 'initializing',
        keepAlivesReceived: 0,
        lastAckId: null,
      };
      break;
    }
    case 'stop_rtmp_stream':
    case 'stop_stream':
      for (const stream of Object.values(s.rtmpStreams)) {
        // An empty streamId stops every stream of the app.
        if (msg.streamId ? stream.streamId === msg.streamId : stream.appId === msg.appId) {
          delete s.rtmpStreams[stream.streamId];
          stopped.push(stream);
        }
      }
      break;
    case 'keep_rtmp_stream_alive':
    case 'keep_stream_alive': {
      const stream = s.rtmpStreams[msg.streamId];
      if (stream) {
        stream.keepAlivesReceived++;
        stream.lastAckId = msg.ackId;
      }
      break;
    }
    default:
      break;
  }
  return stopped;
}
