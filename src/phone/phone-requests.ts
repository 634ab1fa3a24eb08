import { Injectable, Scope } from '@nestjs/common';
import type { TypedMessage } from '../common/json.util.js';
import { SessionContext } from '../session/session-context.js';

export type PhoneRequestResult =
  { ok: true } | { ok: false; code: 'MALFORMED_MESSAGE' | 'GLASSES_NOT_CONNECTED'; message: string };

const LED_COLORS = new Set(['red', 'green', 'blue', 'orange', 'white']);
const NOT_CONNECTED: PhoneRequestResult = {
  ok: false,
  code: 'GLASSES_NOT_CONNECTED',
  message: 'The glasses are not connected (cloud → phone)',
};

/** App requests the phone carries out itself: the RGB LED and the Wi-Fi setup screen (glasses.md §13.6–13.7). */
@Injectable({ scope: Scope.REQUEST })
export class PhoneRequests {
  constructor(private readonly ctx: SessionContext) {}

  led(packageName: string, msg: TypedMessage): PhoneRequestResult {
    if (msg.action !== 'on' && msg.action !== 'off')
      return { ok: false, code: 'MALFORMED_MESSAGE', message: 'rgb_led_control needs action "on" or "off"' };
    if (msg.color !== undefined && !LED_COLORS.has(String(msg.color)))
      return { ok: false, code: 'MALFORMED_MESSAGE', message: `color must be one of ${[...LED_COLORS].join(', ')}` };
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
    const sent = this.ctx.sendToGlasses({
      type: 'rgb_led_control',
      sessionId: this.ctx.userId,
      requestId: typeof msg.requestId === 'string' ? msg.requestId : undefined,
      packageName,
      appId: packageName,
      action: msg.action,
      color: msg.color,
      ontime: num(msg.ontime),
      offtime: num(msg.offtime),
      count: num(msg.count),
      timestamp: new Date().toISOString(),
    });
    return sent ? { ok: true } : NOT_CONNECTED;
  }

  wifiSetup(packageName: string, msg: TypedMessage): PhoneRequestResult {
    const sent = this.ctx.sendToGlasses({
      type: 'show_wifi_setup',
      reason: typeof msg.reason === 'string' ? msg.reason.slice(0, 500) : undefined,
      appPackageName: packageName,
      timestamp: new Date().toISOString(),
    });
    return sent ? { ok: true } : NOT_CONNECTED;
  }
}
