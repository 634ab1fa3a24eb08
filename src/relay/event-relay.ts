import { Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { SessionContext } from '../session-core/session-context.js';
import type { CloudToAppMessage } from '../protocol/app.types.js';
import { SubscriptionManager, type Subscriber } from '../subscriptions/subscription-manager.js';

/**
 * Glasses events to subscribed apps as `data_stream`. The glasses' own JSON text is embedded as
 * `data` unchanged (it is the whole message, as upstream sends it), so nothing is re-serialized per
 * app: each frame is the app's precomputed prefix + its own subscription string + one shared suffix.
 */
@Injectable({ scope: Scope.REQUEST })
export class EventRelay {
  /** Messages relayed and frames sent, for the admin view and metrics. */
  relayed = 0;
  delivered = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly connections: AppConnections,
  ) {}

  /** `rawJson` must be the text of a JSON object that has already parsed successfully. */
  relay(type: string, rawJson: string): void {
    const subs = this.subscriptions.lookup(type);
    const wild = this.subscriptions.wildcardSubscribers;
    if (subs.length === 0 && wild.length === 0) return;
    this.relayed++;
    const suffix = `,"data":${rawJson},"timestamp":"${new Date().toISOString()}"}`;
    for (let i = 0; i < subs.length; i++) this.deliver(subs[i]!, suffix);
    if (wild.length === 0) return;
    const typeJson = JSON.stringify(type);
    for (const w of wild) {
      if (subs.some((s) => s.packageName === w.packageName)) continue;
      if (!this.subscriptions.appMay(w.packageName, type)) continue;
      this.deliverAs(w.packageName, typeJson, suffix);
    }
  }

  /** touch_event goes to `touch_event:<gesture>` subscribers, and to plain `touch_event` ones without the gesture form. */
  relayTouch(gesture: string, rawJson: string): void {
    const specific = gesture ? this.subscriptions.lookup(`touch_event:${gesture}`) : [];
    const general = this.subscriptions.lookup('touch_event');
    if (specific.length === 0 && general.length === 0) return;
    this.relayed++;
    const suffix = `,"data":${rawJson},"timestamp":"${new Date().toISOString()}"}`;
    for (const s of specific) this.deliver(s, suffix);
    for (const s of general) if (!specific.some((x) => x.packageName === s.packageName)) this.deliver(s, suffix);
  }

  /** A data_stream built from an object (transcriptions, targeted replies). */
  sendData(subscriber: Subscriber, data: object): void {
    this.deliver(subscriber, `,"data":${JSON.stringify(data)},"timestamp":"${new Date().toISOString()}"}`);
  }

  sendDataTo(packageName: string, streamType: string, data: object): boolean {
    return this.deliverAs(
      packageName,
      JSON.stringify(streamType),
      `,"data":${JSON.stringify(data)},"timestamp":"${new Date().toISOString()}"}`,
    );
  }

  /** A top-level message to one app (not a data_stream). */
  sendTo(packageName: string, message: CloudToAppMessage): boolean {
    return this.connections.sendJson(packageName, message);
  }

  private deliver(sub: Subscriber, suffix: string): void {
    this.deliverAs(sub.packageName, sub.streamTypeJson, suffix);
  }

  private deliverAs(packageName: string, streamTypeJson: string, suffix: string): boolean {
    if (!this.connections.sendStream(packageName, streamTypeJson, suffix)) return false;
    this.delivered++;
    return true;
  }
}
