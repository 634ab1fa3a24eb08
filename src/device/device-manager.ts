import { Injectable, Scope } from '@nestjs/common';
import { SessionContext } from '../session/session-context.js';
import { capabilitiesFor, type Capabilities } from './capability-profiles.js';

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

  constructor(private readonly ctx: SessionContext) {}

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
        if (!known) this.ctx.logger.warn(`unknown glasses model "${model}": using the ${capabilities.modelName === model ? 'Simulated Glasses' : ''} fallback profile`);
      } else {
        this.caps = null;
        this.knownModel = false;
      }
      this.ctx.emit('modelChanged', { modelName: model });
    }
    if (Object.keys(changed).length > 0) this.state.timestamp = new Date().toISOString();
    return changed;
  }
}
