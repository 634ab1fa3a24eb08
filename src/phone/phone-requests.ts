import { Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppToCloudMessage } from '../protocol/app.types.js';
import { SessionContext } from '../session-core/session-context.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import type { Result } from '../common/result.js';
import { LazyMap } from '../common/lazy-collections.js';

export type PhoneRequestResult = Result<object, 'MALFORMED_MESSAGE' | 'GLASSES_NOT_CONNECTED'>;

const NOT_CONNECTED: PhoneRequestResult = {
  ok: false,
  code: 'GLASSES_NOT_CONNECTED',
  message: 'The glasses are not connected (cloud → phone)',
};
/** LED requests awaiting the glasses' answer: a phone that never answers must not grow the table. */
const MAX_PENDING_LED = 64;
const LED_ANSWER_WINDOW_MS = 30_000;

/** App requests the phone carries out itself: the RGB LED and the Wi-Fi setup screen. */
@Injectable({ scope: Scope.REQUEST })
export class PhoneRequests {
  /** requestId → the app that asked, oldest first. */
  private readonly pendingLed = new LazyMap<string, { packageName: string; at: number }>();

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
  ) {
    ctx.defer(this.dispose, this);
  }

  private dispose(): void {
    this.pendingLed.clear();
  }

  led(packageName: string, msg: AppToCloudMessage<'rgb_led_control'>): PhoneRequestResult {
    const requestId = msg.requestId;
    const sent = this.ctx.sendToGlasses({
      type: 'rgb_led_control',
      sessionId: this.ctx.userId,
      requestId,
      packageName,
      appId: packageName,
      action: msg.action,
      color: msg.color,
      ontime: msg.ontime,
      offtime: msg.offtime,
      count: msg.count,
      timestamp: new Date().toISOString(),
    });
    if (!sent) return NOT_CONNECTED;
    if (requestId !== undefined) this.rememberLed(requestId, packageName);
    return { ok: true };
  }

  /**
   * The glasses' `rgb_led_control_response` goes back to the app that asked, as the top-level message SDK 2.1.29
   * recognises. Literal `rgb_led_control_response` subscribers still get the relayed event besides.
   */
  handleLedResponse(msg: GlassesInbound<'rgb_led_control_response'>): void {
    const asked = this.pendingLed.get(msg.requestId);
    if (!asked) return;
    this.pendingLed.delete(msg.requestId);
    this.connections.sendJson(asked.packageName, {
      type: 'rgb_led_control_response',
      requestId: msg.requestId,
      success: msg.success === true,
      ...(msg.error !== undefined ? { error: msg.error.slice(0, 500) } : {}),
      timestamp: new Date().toISOString(),
    });
  }

  private rememberLed(requestId: string, packageName: string): void {
    const now = Date.now();
    this.pendingLed.delete(requestId);
    for (const [id, p] of this.pendingLed) {
      if (this.pendingLed.size < MAX_PENDING_LED && now - p.at < LED_ANSWER_WINDOW_MS) break;
      this.pendingLed.delete(id);
    }
    this.pendingLed.set(requestId, { packageName, at: now });
  }

  wifiSetup(packageName: string, msg: AppToCloudMessage<'request_wifi_setup'>): PhoneRequestResult {
    const sent = this.ctx.sendToGlasses({
      type: 'show_wifi_setup',
      reason: msg.reason?.slice(0, 500),
      appPackageName: packageName,
      timestamp: new Date().toISOString(),
    });
    return sent ? { ok: true } : NOT_CONNECTED;
  }
}
