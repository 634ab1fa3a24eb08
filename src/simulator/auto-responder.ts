import type {
  CloudToGlassesMessage,
  GlassesToCloud,
  GlassesToCloudType,
  PhotoRequest,
  RtmpStreamStatusValue,
} from './glasses-protocol.types.js';
import type { GlassesState, RtmpStreamState } from './glasses-state.js';
import { uploadPhoto, type PhotoUploadResult } from './photo-upload.js';
import type { AutoAnswerOptions, PayloadArgs } from './simulated-glasses.types.js';

/** What the auto-responder needs of the simulated glasses: their state, and a way to answer and to report. */
export interface AutoResponderHost {
  readonly state: GlassesState;
  readonly isOpen: boolean;
  send<K extends GlassesToCloudType>(type: K, ...args: PayloadArgs<K>): void;
  rtmpStatus(
    streamId: string,
    status: RtmpStreamStatusValue,
    extra?: Omit<GlassesToCloud['rtmp_stream_status'], 'streamId' | 'status'>,
  ): void;
  emit(event: 'photo-upload', result: PhotoUploadResult): boolean;
  emit(event: 'socket-error', error: Error): boolean;
}

/**
 * Answers the cloud's requests the way the phone and glasses do on their own (pong, keep-alive acks, stream
 * statuses, location fixes, audio and LED results, photo uploads), each switchable through `autoAnswer`.
 * Photo uploads run in the background; `abortAll` and `settled` let a disconnect wait for them.
 */
export class AutoResponder {
  private readonly uploads = new Map<AbortController, Promise<void>>();

  constructor(
    private readonly host: AutoResponderHost,
    private readonly auto: Required<AutoAnswerOptions>,
  ) {}

  get pendingUploads(): number {
    return this.uploads.size;
  }

  /** Aborts every upload still running; resolves when all of them have finished. */
  abortAll(): Promise<unknown> {
    for (const abort of this.uploads.keys()) abort.abort();
    return Promise.allSettled([...this.uploads.values()]);
  }

  respond(msg: CloudToGlassesMessage, stoppedStreams: RtmpStreamState[]): void {
    const a = this.auto;
    const host = this.host;
    switch (msg.type) {
      case 'ping':
        if (a.pings) host.send('pong');
        break;
      case 'keep_rtmp_stream_alive':
      case 'keep_stream_alive':
        if (a.keepAlive) host.send('keep_alive_ack', { streamId: msg.streamId, ackId: msg.ackId });
        break;
      case 'start_rtmp_stream':
      case 'start_stream':
        if (a.rtmp) host.rtmpStatus(msg.streamId ?? '', 'active');
        break;
      case 'stop_rtmp_stream':
      case 'stop_stream':
        if (a.rtmp) {
          for (const stream of stoppedStreams) host.rtmpStatus(stream.streamId, 'stopped', { appId: stream.appId });
        }
        break;
      case 'request_single_location':
        if (a.location) {
          const { lat, lng, accuracy } = host.state.location;
          host.send('location_update', { lat, lng, accuracy, correlationId: msg.correlationId });
        }
        break;
      case 'audio_play_request':
        if (a.audio) host.send('audio_play_response', { requestId: msg.requestId, success: true, duration: 1000 });
        break;
      case 'rgb_led_control':
        if (a.led && msg.requestId !== undefined)
          host.send('rgb_led_control_response', { requestId: msg.requestId, success: true });
        break;
      case 'photo_request':
        this.answerPhoto(msg);
        break;
      default:
        break;
    }
  }

  private answerPhoto(req: PhotoRequest): void {
    const photos = this.auto.photos;
    if (photos === false) {
      this.sendPhotoError(req.requestId, 'CAMERA_BUSY', 'Simulated camera is busy (autoAnswer.photos = false)');
      return;
    }
    if (!req.webhookUrl) {
      this.sendPhotoError(req.requestId, 'UPLOAD_FAILED', 'photo_request carried no webhookUrl');
      return;
    }
    const abort = new AbortController();
    const webhookUrl = req.webhookUrl;
    const done = uploadPhoto({
      webhookUrl,
      requestId: req.requestId,
      jpeg: photos.jpeg,
      authToken: req.authToken,
      signal: abort.signal,
    }).then((result) => {
      this.uploads.delete(abort);
      if (abort.signal.aborted) return;
      this.host.emit('photo-upload', result);
      if (!result.ok) {
        // Real glasses report a failed upload on the socket; the webhook never heard of it.
        const why = `Upload to ${webhookUrl} failed: ${result.status} ${result.body}`;
        this.sendPhotoError(req.requestId, 'UPLOAD_FAILED', why);
      }
    });
    // A throwing 'photo-upload' listener must not become an unhandled rejection.
    done.catch((err: unknown) => this.host.emit('socket-error', err instanceof Error ? err : new Error(String(err))));
    this.uploads.set(
      abort,
      done.catch(() => undefined),
    );
  }

  private sendPhotoError(requestId: string, code: 'CAMERA_BUSY' | 'UPLOAD_FAILED', message: string): void {
    if (this.host.isOpen) this.host.send('photo_response', { requestId, success: false, error: { code, message } });
  }
}
