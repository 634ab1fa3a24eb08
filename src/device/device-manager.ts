import { Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { SessionContext } from '../session-core/session-context.js';
import { capabilitiesFor, FALLBACK_PROFILE, type Capabilities } from './capability-profiles.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';

export interface DeviceState {
  connected: boolean;
  modelName: string | null;
  wifiConnected?: boolean;
  wifiSsid?: string | null;
  batteryLevel?: number;
  charging?: boolean;
  timestamp?: string;
}

/** The glasses model, its capabilities and the device state apps can observe. */
@Injectable({ scope: Scope.REQUEST })
export class DeviceManager {
  private state: DeviceState = { connected: false, modelName: null };
  private caps: Capabilities | null = null;
  private knownModel = false;
  /** The user's `default_wearable` setting: the model until the glasses report one of their own. */
  private defaultModel: string | null = null;
  /** The model the glasses last reported while connected (null: none, or disconnected). */
  private reportedModel: string | null = null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
  ) {}

  get capabilities(): Capabilities | null {
    return this.caps;
  }

  get modelName(): string | null {
    return this.state.modelName;
  }

  get isKnownModel(): boolean {
    return this.knownModel;
  }

  snapshot(): DeviceState {
    return { ...this.state };
  }

  /** Applies a partial state; returns the changed fields. Emits modelChanged when the model changes. */
  update(patch: Partial<DeviceState>): Partial<DeviceState> {
    const changed: Partial<DeviceState> = {};
    for (const [k, v] of Object.entries(patch) as [keyof DeviceState, unknown][]) {
      if (v === undefined || this.state[k] === v) continue;
      (changed as Record<string, unknown>)[k] = v;
      (this.state as unknown as Record<string, unknown>)[k] = v;
    }
    if ('modelName' in changed) {
      const model = this.state.modelName;
      if (model) {
        const { capabilities, known } = capabilitiesFor(model);
        this.caps = capabilities;
        this.knownModel = known;
        if (!known)
          this.ctx.logger.warn(
            `unknown glasses model "${model}": using the ${FALLBACK_PROFILE} profile as a fallback; apps are not blocked for hardware`,
          );
      } else {
        this.caps = null;
        this.knownModel = false;
      }
      this.ctx.emit('modelChanged', { modelName: model });
    }
    if (Object.keys(changed).length > 0) this.state.timestamp = new Date().toISOString();
    return changed;
  }

  /**
   * Applies a state change from the glasses or an operator and tells every app: `capabilities_update`
   * when the model changed, `device_state_update` with the changed fields.
   */
  applyState(patch: Partial<DeviceState>): Partial<DeviceState> {
    const changed = this.update(patch);
    if (Object.keys(changed).length === 0) return changed;
    const stamp = new Date().toISOString();
    // A model going away (glasses disconnected) is told through device_state_update only: apps keep the
    // last capabilities rather than getting null between a drop and the reconnect (as upstream).
    if ('modelName' in changed && this.caps !== null) {
      this.connections.sendToAll({
        type: 'capabilities_update',
        capabilities: this.caps,
        modelName: this.state.modelName,
        timestamp: stamp,
      });
    }
    this.connections.sendToAll({ type: 'device_state_update', state: changed, fullSnapshot: false, timestamp: stamp });
    return changed;
  }

  /** Right after an app's ack: the whole state, so `session.device.state` starts complete. */
  sendSnapshot(packageName: string): void {
    this.connections.sendJson(packageName, {
      type: 'device_state_update',
      state: this.snapshot(),
      fullSnapshot: true,
      timestamp: new Date().toISOString(),
    });
  }

  /**
   * What the phone reports about the glasses (socket or REST). A reported model wins; without one (none
   * reported yet, or the glasses disconnected) the user's default wearable stands in, so apps keep that
   * model's capabilities instead of none.
   */
  applyReported(patch: Partial<DeviceState>): Partial<DeviceState> {
    if (patch.modelName === undefined) return this.applyState(patch);
    this.reportedModel = patch.modelName;
    return this.applyState({ ...patch, modelName: patch.modelName ?? this.defaultModel });
  }

  /** The user's default wearable changed (or was loaded); it only shows while the glasses report no model. */
  setDefaultModel(modelName: string | null): void {
    this.defaultModel = modelName;
    if (this.reportedModel === null) this.applyState({ modelName });
  }

  /** `glasses_connection_state` from the phone. */
  handleConnectionState(msg: GlassesInbound<'glasses_connection_state'>): void {
    const status = msg.status?.toUpperCase();
    const connected = status === 'CONNECTED' || status === 'RECONNECTED';
    this.applyReported({
      connected,
      modelName: connected ? (msg.modelName ?? null) : null,
      wifiConnected: msg.wifi?.connected,
      wifiSsid: msg.wifi?.ssid,
    });
  }

  /** Battery levels reported by the glasses: kept for snapshots and, when they change, told to apps (SDK `device.state`). */
  handleBattery(msg: GlassesInbound<'glasses_battery_update'>): void {
    this.applyState({ batteryLevel: msg.level, charging: msg.charging });
  }
}
