import { describe, expect, it } from 'vitest';
import { CAPABILITY_PROFILES, capabilitiesFor, FALLBACK_PROFILE, type Capabilities } from './capability-profiles.js';

/** The upstream capability table, one row per capability. */
const G1_DISPLAY = {
  count: 2,
  isColor: false,
  color: 'green',
  canDisplayBitmap: true,
  resolution: { width: 640, height: 200 },
  fieldOfView: { horizontal: 25 },
  maxTextLines: 5,
  adjustBrightness: true,
};
const Z100_DISPLAY = {
  count: 1,
  isColor: false,
  color: 'green',
  canDisplayBitmap: false,
  resolution: { width: 640, height: 480 },
  fieldOfView: { horizontal: 30 },
  maxTextLines: 7,
  adjustBrightness: true,
};
const NO_EXTERNAL_BATTERY = { hasExternalBattery: false };

const EXPECTED: Record<string, Omit<Capabilities, 'modelName'>> = {
  'Even Realities G1': {
    hasCamera: false,
    camera: null,
    hasDisplay: true,
    display: G1_DISPLAY,
    hasMicrophone: true,
    microphone: { count: 1, hasVAD: false },
    hasSpeaker: false,
    speaker: null,
    hasIMU: true,
    imu: null,
    hasButton: false,
    button: null,
    hasLight: false,
    light: null,
    power: NO_EXTERNAL_BATTERY,
    hasWifi: false,
  },
  'Even Realities G2': {
    hasCamera: false,
    camera: null,
    hasDisplay: true,
    display: G1_DISPLAY,
    hasMicrophone: true,
    microphone: { count: 1, hasVAD: false },
    hasSpeaker: false,
    speaker: null,
    hasIMU: true,
    imu: null,
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
    hasLight: false,
    light: null,
    power: NO_EXTERNAL_BATTERY,
    hasWifi: false,
  },
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
    power: NO_EXTERNAL_BATTERY,
    hasWifi: true,
  },
  'Mentra Display': {
    hasCamera: false,
    camera: null,
    hasDisplay: true,
    display: G1_DISPLAY,
    hasMicrophone: true,
    microphone: { count: 1, hasVAD: false },
    hasSpeaker: false,
    speaker: null,
    hasIMU: true,
    imu: null,
    hasButton: false,
    button: null,
    hasLight: false,
    light: null,
    power: NO_EXTERNAL_BATTERY,
    hasWifi: false,
  },
  'Vuzix Z100': {
    hasCamera: false,
    camera: null,
    hasDisplay: true,
    display: Z100_DISPLAY,
    hasMicrophone: false,
    microphone: null,
    hasSpeaker: false,
    speaker: null,
    hasIMU: false,
    imu: null,
    hasButton: false,
    button: null,
    hasLight: false,
    light: null,
    power: NO_EXTERNAL_BATTERY,
    hasWifi: false,
  },
  'Simulated Glasses': {
    hasCamera: false,
    camera: null,
    hasDisplay: true,
    display: Z100_DISPLAY,
    hasMicrophone: true,
    microphone: { count: 1, hasVAD: false },
    hasSpeaker: true,
    speaker: { count: 1, isPrivate: false },
    hasIMU: false,
    imu: null,
    hasButton: true,
    button: { count: 1, buttons: [{ type: 'press', events: ['press'], isCapacitive: false }] },
    hasLight: false,
    light: null,
    power: NO_EXTERNAL_BATTERY,
    hasWifi: false,
  },
};

describe('capability profiles', () => {
  it('there is a profile for every model of the table, and only those', () => {
    expect(Object.keys(CAPABILITY_PROFILES).sort()).toEqual(
      [
        'Even Realities G1',
        'Even Realities G2',
        'Mentra Display',
        'Mentra Live',
        'NIMO',
        'Simulated Glasses',
        'Vuzix Z100',
      ].sort(),
    );
  });

  it.each(Object.keys(EXPECTED))('%s has the table values', (model) => {
    const { capabilities, known } = capabilitiesFor(model);
    expect(known).toBe(true);
    expect(capabilities).toEqual({ modelName: model, ...EXPECTED[model] });
  });

  it('NIMO: two mono green displays with bitmaps, 640×400, 5 lines; 2 microphones without VAD; IMU without data; 2 capacitive buttons; nothing else', () => {
    const { capabilities: c, known } = capabilitiesFor('NIMO');
    expect(known).toBe(true);
    expect(c.modelName).toBe('NIMO');
    expect(c.hasDisplay).toBe(true);
    expect(c.display).toMatchObject({
      count: 2,
      isColor: false,
      color: 'green',
      canDisplayBitmap: true,
      resolution: { width: 640, height: 400 },
      maxTextLines: 5,
    });
    expect(c.hasMicrophone).toBe(true);
    expect(c.microphone).toEqual({ count: 2, hasVAD: false });
    expect(c.hasIMU).toBe(true);
    expect(c.imu).toBeNull();
    expect(c.hasButton).toBe(true);
    expect(c.button?.count).toBe(2);
    expect(
      c.button?.buttons?.every(
        (b) => b.isCapacitive === true && ['press', 'double_press', 'long_press'].every((e) => b.events.includes(e)),
      ),
    ).toBe(true);
    expect([c.hasCamera, c.hasSpeaker, c.hasLight, c.hasWifi, c.power.hasExternalBattery]).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect([c.camera, c.speaker, c.light]).toEqual([null, null, null]);
  });

  it('every profile is consistent: hasX is true exactly when the X object is set (IMU excepted: G1-like models have an IMU without raw data)', () => {
    for (const model of Object.keys(CAPABILITY_PROFILES)) {
      const c = capabilitiesFor(model).capabilities;
      expect(c.hasCamera, model).toBe(c.camera !== null);
      expect(c.hasDisplay, model).toBe(c.display !== null);
      expect(c.hasMicrophone, model).toBe(c.microphone !== null);
      expect(c.hasSpeaker, model).toBe(c.speaker !== null);
      expect(c.hasButton, model).toBe(c.button !== null);
      expect(c.hasLight, model).toBe(c.light !== null);
      if (c.imu !== null) expect(c.hasIMU, model).toBe(true);
    }
  });

  describe('unknown models', () => {
    it.each(['Mentra Mach1', 'Mentra Nex', 'Brilliant Frame', 'Acme Specs 3000', ''])(
      '"%s" gets the Simulated Glasses profile under its own name, known:false',
      (model) => {
        const { capabilities, known } = capabilitiesFor(model);
        expect(known).toBe(false);
        expect(FALLBACK_PROFILE).toBe('Simulated Glasses');
        expect(capabilities).toEqual({ modelName: model, ...EXPECTED['Simulated Glasses'] });
      },
    );

    it('a name that only looks like a profile key is not a known model', () => {
      for (const model of ['even realities g1', 'Even Realities G1 ', 'toString', '__proto__', 'constructor']) {
        const { capabilities, known } = capabilitiesFor(model);
        expect(known, model).toBe(false);
        expect(capabilities.modelName).toBe(model);
        expect(capabilities.hasDisplay).toBe(true);
      }
    });
  });

  it('each call returns a fresh copy: changing one never changes the profile', () => {
    const first = capabilitiesFor('Mentra Live').capabilities;
    first.camera!.video.supportedStreamTypes!.push('webrtc');
    first.hasWifi = false;
    const fallback = capabilitiesFor('Unknown').capabilities;
    fallback.display!.maxTextLines = 1;
    expect(capabilitiesFor('Mentra Live').capabilities).toEqual({
      modelName: 'Mentra Live',
      ...EXPECTED['Mentra Live'],
    });
    expect(capabilitiesFor('Simulated Glasses').capabilities.display!.maxTextLines).toBe(7);
    // Profiles that share a display object (G1 and Mentra Display) do not leak into each other.
    capabilitiesFor('Even Realities G1').capabilities.display!.count = 9;
    expect(capabilitiesFor('Mentra Display').capabilities.display!.count).toBe(2);
  });
});
