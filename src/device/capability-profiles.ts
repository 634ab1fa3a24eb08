/** Capability objects per glasses model, in the shape of @mentra/types. */
export interface Capabilities {
  modelName: string;
  hasCamera: boolean;
  camera: {
    resolution?: { width: number; height: number };
    hasHDR?: boolean;
    hasFocus?: boolean;
    video: {
      canRecord: boolean;
      canStream: boolean;
      supportedStreamTypes?: string[];
      supportedResolutions?: { width: number; height: number }[];
    };
  } | null;
  hasDisplay: boolean;
  display: {
    count?: number;
    isColor?: boolean;
    color?: string;
    canDisplayBitmap?: boolean;
    resolution?: { width: number; height: number };
    fieldOfView?: { horizontal?: number; vertical?: number };
    maxTextLines?: number;
    adjustBrightness?: boolean;
  } | null;
  hasMicrophone: boolean;
  microphone: { count?: number; hasVAD?: boolean } | null;
  hasSpeaker: boolean;
  speaker: { count?: number; isPrivate?: boolean } | null;
  hasIMU: boolean;
  imu: { axisCount?: number; hasAccelerometer?: boolean; hasCompass?: boolean; hasGyroscope?: boolean } | null;
  hasButton: boolean;
  button: {
    count?: number;
    buttons?: { type: 'press' | 'swipe1d' | 'swipe2d'; events: string[]; isCapacitive?: boolean }[];
  } | null;
  hasLight: boolean;
  light: {
    count?: number;
    lights?: {
      id: string;
      purpose: 'privacy' | 'user_feedback' | 'general';
      isFullColor: boolean;
      color?: string;
      position?: string;
    }[];
  } | null;
  power: { hasExternalBattery: boolean };
  hasWifi: boolean;
}

const none = {
  hasCamera: false,
  camera: null,
  hasSpeaker: false,
  speaker: null,
  hasButton: false,
  button: null,
  hasLight: false,
  light: null,
  power: { hasExternalBattery: false },
  hasWifi: false,
} as const;

const g1Display = {
  count: 2,
  isColor: false,
  color: 'green',
  canDisplayBitmap: true,
  resolution: { width: 640, height: 200 },
  fieldOfView: { horizontal: 25 },
  maxTextLines: 5,
  adjustBrightness: true,
};
const z100Display = {
  count: 1,
  isColor: false,
  color: 'green',
  canDisplayBitmap: false,
  resolution: { width: 640, height: 480 },
  fieldOfView: { horizontal: 30 },
  maxTextLines: 7,
  adjustBrightness: true,
};

const G1: Omit<Capabilities, 'modelName'> = {
  ...none,
  hasDisplay: true,
  display: g1Display,
  hasMicrophone: true,
  microphone: { count: 1, hasVAD: false },
  hasIMU: true,
  imu: null,
};

export const CAPABILITY_PROFILES: Record<string, Omit<Capabilities, 'modelName'>> = {
  'Even Realities G1': G1,
  'Even Realities G2': {
    ...G1,
    hasButton: true,
    button: {
      count: 1,
      buttons: [
        {
          type: 'swipe1d',
          events: ['TAP', 'DOUBLE_TAP', 'TRIPLE_TAP', 'PRESS_HOLD', 'SWIPE_UP', 'SWIPE_DOWN'],
          isCapacitive: true,
        },
      ],
    },
  },
  'Mentra Display': G1,
  'Mentra Live': {
    hasCamera: true,
    camera: {
      resolution: { width: 1920, height: 1080 },
      hasHDR: false,
      hasFocus: true,
      video: {
        canRecord: true,
        canStream: true,
        supportedStreamTypes: ['rtmp'],
        supportedResolutions: [
          { width: 1920, height: 1080 },
          { width: 1280, height: 720 },
          { width: 640, height: 480 },
        ],
      },
    },
    hasDisplay: false,
    display: null,
    hasMicrophone: true,
    microphone: { count: 1, hasVAD: true },
    hasSpeaker: true,
    speaker: { count: 1, isPrivate: false },
    hasIMU: true,
    imu: { axisCount: 6, hasAccelerometer: true, hasCompass: false, hasGyroscope: true },
    hasButton: true,
    button: {
      count: 1,
      buttons: [{ type: 'press', events: ['press', 'double_press', 'long_press'], isCapacitive: false }],
    },
    hasLight: true,
    light: {
      count: 2,
      lights: [
        { id: 'privacy', purpose: 'privacy', isFullColor: false, color: 'white', position: 'front_facing' },
        { id: 'user_feedback', purpose: 'user_feedback', isFullColor: true, color: 'rgb', position: 'user_facing' },
      ],
    },
    power: { hasExternalBattery: false },
    hasWifi: true,
  },
  'Vuzix Z100': {
    ...none,
    hasDisplay: true,
    display: z100Display,
    hasMicrophone: false,
    microphone: null,
    hasIMU: false,
    imu: null,
  },
  'Simulated Glasses': {
    ...none,
    hasDisplay: true,
    display: z100Display,
    hasMicrophone: true,
    microphone: { count: 1, hasVAD: false },
    hasSpeaker: true,
    speaker: { count: 1, isPrivate: false },
    hasIMU: false,
    imu: null,
    hasButton: true,
    button: { count: 1, buttons: [{ type: 'press', events: ['press'], isCapacitive: false }] },
  },
  NIMO: {
    ...none,
    hasDisplay: true,
    display: { ...g1Display, resolution: { width: 640, height: 400 } },
    hasMicrophone: true,
    microphone: { count: 2, hasVAD: false },
    hasIMU: true,
    imu: null,
    hasButton: true,
    button: {
      count: 2,
      buttons: [{ type: 'press', events: ['press', 'double_press', 'long_press'], isCapacitive: true }],
    },
  },
};

/**
 * The documented fallback for a model we have no profile for: the Simulated Glasses profile (as
 * @mentra/types does) under the reported name, marked so callers can tell. Apps are never blocked
 * for hardware on an unknown model: see HardwareCompatibility.
 */
export const FALLBACK_PROFILE = 'Simulated Glasses';

export function capabilitiesFor(modelName: string): { capabilities: Capabilities; known: boolean } {
  // Own keys only: a reported name such as "constructor" or "__proto__" must not reach Object.prototype.
  const profile = Object.hasOwn(CAPABILITY_PROFILES, modelName) ? CAPABILITY_PROFILES[modelName] : undefined;
  if (profile) return { capabilities: { modelName, ...structuredClone(profile) }, known: true };
  return { capabilities: { modelName, ...structuredClone(CAPABILITY_PROFILES[FALLBACK_PROFILE]!) }, known: false };
}
