import { Inject, Injectable, Logger, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import type { ErrorCode } from '../common/cloud-error.js';
import type { AppToCloudMessage } from '../protocol/app.types.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { hasPermission, permissionSet } from '../subscriptions/stream-types.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import type { Result } from '../common/result.js';
import { LazyMap } from '../common/lazy-collections.js';

/** One for every session (a Logger per session was ~150 bytes of each session's heap). */
const logger = new Logger('Photo');

export type PhotoResult = Result;

interface PendingPhoto {
  packageName: string;
  timer: NodeJS.Timeout;
  /** Where the SDK waits for the upload (`<publicUrl>/photo-upload`); null for a custom webhook. */
  sdkUploadUrl: string | null;
}

/**
 * Photos: the glasses upload straight to the app; the cloud only asks and keeps track.
 * Better than upstream: a failure the cloud knows of (no permission, no glasses, no camera, the glasses'
 * own failure report, expiry) is delivered to the SDK at once as a `photo_error` on the app's own
 * `/photo-upload` endpoint, which rejects `requestPhoto()` instead of letting it wait 30 s.
 */
@Injectable({ scope: Scope.REQUEST })
export class PhotoManager {
  private readonly pending = new LazyMap<string, PendingPhoto>();

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
    private readonly device: DeviceManager,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    for (const [id, p] of this.pending) if (p.packageName === packageName) this.forget(id);
  }

  private dispose(): void {
    for (const id of [...this.pending.keys()]) this.forget(id);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  request(packageName: string, msg: AppToCloudMessage<'photo_request'>): PhotoResult {
    const requestId = msg.requestId;
    const rt = this.connections.get(packageName);
    if (!rt) return { ok: false, code: 'APP_NOT_RUNNING', message: 'The app is not running' };
    const sdkUploadUrl = `${rt.app.publicUrl.replace(/\/+$/, '')}/photo-upload`;
    const custom = msg.customWebhookUrl ?? null;
    const refuse = (code: ErrorCode, photoCode: string, message: string): PhotoResult => {
      if (!custom) this.reportToSdk(sdkUploadUrl, requestId, photoCode, message);
      return { ok: false, code, message };
    };
    if (!hasPermission(permissionSet(rt.app.permissions), 'CAMERA'))
      return refuse('PERMISSION_DENIED', 'PERMISSION_DENIED', 'Taking photos needs the CAMERA permission');
    if (!this.ctx.glassesOpen)
      return refuse(
        'GLASSES_NOT_CONNECTED',
        'PHONE_GLASSES_NOT_CONNECTED',
        'The glasses are not connected (cloud → phone)',
      );
    const caps = this.device.capabilities;
    if (caps && this.device.isKnownModel && !caps.hasCamera)
      return refuse('HARDWARE_INCOMPATIBLE', 'CAMERA_INIT_FAILED', `${caps.modelName} has no camera`);
    // The glasses answer by requestId alone: an id pending for another app stays that app's, or its reply
    // (and its photo upload) would go to whoever reused the id.
    const owner = this.pending.get(requestId)?.packageName;
    if (owner !== undefined && owner !== packageName)
      return refuse(
        'CONFLICT',
        'UNKNOWN_ERROR',
        `requestId ${JSON.stringify(requestId.slice(0, 64))} is in use by another app's pending photo request; use a unique id`,
      );
    const size = msg.size ?? 'medium';
    const compress = msg.compress ?? 'none';
    this.forget(requestId);
    const timer = setTimeout(() => {
      const p = this.pending.get(requestId);
      this.forget(requestId);
      if (p?.sdkUploadUrl)
        this.reportToSdk(
          p.sdkUploadUrl,
          requestId,
          'PHONE_TIMEOUT',
          `No photo within ${this.config.photoTimeoutMs} ms`,
        );
    }, this.config.photoTimeoutMs);
    timer.unref();
    this.pending.set(requestId, { packageName, timer, sdkUploadUrl: custom ? null : sdkUploadUrl });
    this.ctx.sendToGlasses({
      type: 'photo_request',
      sessionId: this.ctx.userId,
      requestId,
      appId: packageName,
      webhookUrl: custom ?? sdkUploadUrl,
      ...(msg.authToken !== undefined ? { authToken: msg.authToken } : {}),
      size,
      compress,
      saveToGallery: msg.saveToGallery === true,
      flash: true,
      sound: msg.sound !== false,
      timestamp: new Date().toISOString(),
    });
    if (custom) {
      // Upstream behaviour: with a custom webhook the app is told at once where the photo goes.
      this.connections.sendJson(packageName, {
        type: 'photo_response',
        sessionId: appSessionId(this.ctx.userId, packageName),
        requestId,
        success: true,
        photoUrl: custom,
        savedToGallery: msg.saveToGallery === true,
        timestamp: new Date().toISOString(),
      });
    }
    return { ok: true };
  }

  /** The glasses' own report. Success means the upload already went to the app; a failure is passed on at once. */
  handleResponse(msg: GlassesInbound<'photo_response'>): void {
    const requestId = msg.requestId;
    const p = this.pending.get(requestId);
    if (!p) return;
    this.forget(requestId);
    this.connections.sendJson(p.packageName, {
      ...msg,
      type: 'photo_response',
      sessionId: appSessionId(this.ctx.userId, p.packageName),
      timestamp: new Date().toISOString(),
    });
    if (msg.success !== true && p.sdkUploadUrl) {
      this.reportToSdk(
        p.sdkUploadUrl,
        requestId,
        msg.error?.code ?? 'UNKNOWN_ERROR',
        msg.error?.message ?? 'The glasses could not take the photo',
      );
    }
  }

  /** The SDK's /photo-upload takes `{requestId, type:'photo_error', success:false, errorCode, errorMessage}` and rejects the request. */
  private reportToSdk(url: string, requestId: string, errorCode: string, errorMessage: string): void {
    void fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestId, type: 'photo_error', success: false, errorCode, errorMessage }),
      signal: AbortSignal.timeout(5_000),
      // The app's server must not be able to point this POST anywhere else (a blind SSRF from inside the cloud).
      redirect: 'manual',
    })
      .then((r) => r.arrayBuffer())
      .catch((err: Error) => logger.warn(`could not report photo error to ${url}: ${err.message}`));
  }

  private forget(requestId: string): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(requestId);
  }
}
