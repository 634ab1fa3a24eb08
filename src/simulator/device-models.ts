/**
 * Glasses models the simulator can pretend to be. The hardware flags follow the capability
 * table of src/device/capability-profiles.ts; they only steer what the simulated phone reports (e.g. Wi-Fi in
 * glasses_connection_state) and which gestures make sense, the cloud derives the real
 * capabilities from the model name itself.
 */

export const MODEL_NAMES = [
  'Even Realities G1',
  'Even Realities G2',
  'Mentra Live',
  'Mentra Display',
  'Vuzix Z100',
  'Simulated Glasses',
  'NIMO',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];

export const DEFAULT_MODEL: ModelName = 'Even Realities G1';

export interface DeviceModel {
  name: ModelName;
  aliases: readonly string[];
  hasDisplay: boolean;
  hasCamera: boolean;
  hasMicrophone: boolean;
  hasSpeaker: boolean;
  hasIMU: boolean;
  hasButton: boolean;
  hasLight: boolean;
  hasWifi: boolean;
  /** `touch_event.gesture_name` values the device can produce. */
  touchGestures: readonly string[];
}

const NONE = { hasCamera: false, hasSpeaker: false, hasButton: false, hasLight: false, hasWifi: false };
const G2_GESTURES = ['TAP', 'DOUBLE_TAP', 'TRIPLE_TAP', 'PRESS_HOLD', 'SWIPE_UP', 'SWIPE_DOWN'];

export const DEVICE_MODELS: Readonly<Record<ModelName, DeviceModel>> = {
  'Even Realities G1': {
    ...NONE,
    name: 'Even Realities G1',
    aliases: ['g1'],
    hasDisplay: true,
    hasMicrophone: true,
    hasIMU: true,
    touchGestures: [],
  },
  'Even Realities G2': {
    ...NONE,
    name: 'Even Realities G2',
    aliases: ['g2'],
    hasDisplay: true,
    hasMicrophone: true,
    hasIMU: true,
    touchGestures: G2_GESTURES,
  },
  'Mentra Live': {
    name: 'Mentra Live',
    aliases: ['live'],
    hasDisplay: false,
    hasCamera: true,
    hasMicrophone: true,
    hasSpeaker: true,
    hasIMU: true,
    hasButton: true,
    hasLight: true,
    hasWifi: true,
    touchGestures: [],
  },
  'Mentra Display': {
    ...NONE,
    name: 'Mentra Display',
    aliases: ['display'],
    hasDisplay: true,
    hasMicrophone: true,
    hasIMU: true,
    touchGestures: [],
  },
  'Vuzix Z100': {
    ...NONE,
    name: 'Vuzix Z100',
    aliases: ['z100'],
    hasDisplay: true,
    hasMicrophone: false,
    hasIMU: false,
    touchGestures: [],
  },
  'Simulated Glasses': {
    ...NONE,
    name: 'Simulated Glasses',
    aliases: ['simulated', 'sim'],
    hasDisplay: true,
    hasMicrophone: true,
    hasSpeaker: true,
    hasIMU: false,
    hasButton: true,
    touchGestures: [],
  },
  NIMO: {
    ...NONE,
    name: 'NIMO',
    aliases: ['nimo'],
    hasDisplay: true,
    hasMicrophone: true,
    hasIMU: true,
    hasButton: true,
    touchGestures: [],
  },
};

/** Case-insensitive lookup by full name or alias. */
export function resolveModel(nameOrAlias: string): DeviceModel {
  const wanted = nameOrAlias.trim().toLowerCase();
  for (const model of Object.values(DEVICE_MODELS)) {
    if (model.name.toLowerCase() === wanted || model.aliases.includes(wanted)) return model;
  }
  const valid = Object.values(DEVICE_MODELS)
    .map((m) => `"${m.name}" (${m.aliases.join(', ')})`)
    .join(', ');
  throw new Error(`Unknown glasses model "${nameOrAlias}". Valid models (aliases): ${valid}`);
}
