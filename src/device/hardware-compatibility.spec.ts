import { describe, expect, it } from 'vitest';
import type { HardwareRequirement, HardwareType } from '../persistence/persistence.types.js';
import { capabilitiesFor } from './capability-profiles.js';
import { checkCompatibility, COMPATIBILITY_MESSAGES } from './hardware-compatibility.js';

const req = (type: string, level: 'REQUIRED' | 'OPTIONAL' = 'REQUIRED'): HardwareRequirement => ({
  type: type as HardwareType,
  level,
});
const caps = (model: string) => capabilitiesFor(model).capabilities;

describe('hardware compatibility', () => {
  it('no requirements: compatible, "fully compatible"', () => {
    for (const r of [[], undefined, null]) {
      expect(checkCompatibility(r, caps('Vuzix Z100'))).toEqual({
        compatible: true,
        missingRequired: [],
        missingOptional: [],
        message: 'This app is fully compatible with your glasses',
      });
    }
  });

  it('all requirements present: compatible, "fully compatible"', () => {
    const r = checkCompatibility([req('CAMERA'), req('SPEAKER'), req('WIFI', 'OPTIONAL')], caps('Mentra Live'));
    expect(r).toEqual({
      compatible: true,
      missingRequired: [],
      missingOptional: [],
      message: 'This app is fully compatible with your glasses',
    });
  });

  it('no glasses known (capabilities null): compatible, with the warning', () => {
    const r = checkCompatibility([req('CAMERA'), req('DISPLAY')], null);
    expect(r).toEqual({
      compatible: true,
      missingRequired: [],
      missingOptional: [],
      message: 'No glasses connected - cannot verify hardware compatibility',
    });
    expect(COMPATIBILITY_MESSAGES.noGlasses).toBe(r.message);
  });

  it('an unknown model (fallback profile, known:false) never blocks an app', () => {
    const { capabilities, known } = capabilitiesFor('Mentra Nex');
    expect(known).toBe(false);
    const r = checkCompatibility([req('CAMERA'), req('WIFI'), req('LIGHT')], capabilities, known);
    expect(r.compatible).toBe(true);
    expect(r.missingRequired).toEqual([]);
    expect(r.message).toBe('Glasses model unknown - cannot verify hardware compatibility');
  });

  it('one missing REQUIRED item: incompatible, with the one-item message', () => {
    const r = checkCompatibility([req('DISPLAY'), req('CAMERA')], caps('Even Realities G1'));
    expect(r).toEqual({
      compatible: false,
      missingRequired: ['CAMERA'],
      missingOptional: [],
      message: 'This app requires a camera which is not available on your connected glasses',
    });
  });

  it('several missing REQUIRED items: incompatible, with the list message', () => {
    const r = checkCompatibility(
      [req('CAMERA'), req('SPEAKER'), req('DISPLAY'), req('WIFI')],
      caps('Even Realities G1'),
    );
    expect(r.compatible).toBe(false);
    expect(r.missingRequired).toEqual(['CAMERA', 'SPEAKER', 'WIFI']);
    expect(r.message).toBe(
      'This app requires the following hardware which is not available on your connected glasses: camera, speaker, wifi',
    );
  });

  it('missing OPTIONAL items only: compatible, reported, with the optional message', () => {
    const r = checkCompatibility(
      [req('DISPLAY'), req('CAMERA', 'OPTIONAL'), req('LIGHT', 'OPTIONAL')],
      caps('Vuzix Z100'),
    );
    expect(r).toEqual({
      compatible: true,
      missingRequired: [],
      missingOptional: ['CAMERA', 'LIGHT'],
      message: 'This app works with your glasses but has optional features that require: camera, light',
    });
  });

  it('REQUIRED and OPTIONAL missing together: incompatible, the required message wins, both are reported', () => {
    const r = checkCompatibility([req('CAMERA'), req('BUTTON', 'OPTIONAL')], caps('Vuzix Z100'));
    expect(r.compatible).toBe(false);
    expect(r.missingRequired).toEqual(['CAMERA']);
    expect(r.missingOptional).toEqual(['BUTTON']);
    expect(r.message).toBe('This app requires a camera which is not available on your connected glasses');
  });

  it('MICROPHONE is always present (the phone mic stands in), even on glasses without one', () => {
    const z100 = caps('Vuzix Z100');
    expect(z100.hasMicrophone).toBe(false);
    expect(checkCompatibility([req('MICROPHONE')], z100)).toMatchObject({
      compatible: true,
      missingRequired: [],
      missingOptional: [],
    });
    expect(checkCompatibility([req('MICROPHONE', 'OPTIONAL')], z100)).toMatchObject({
      compatible: true,
      missingOptional: [],
    });
  });

  it('an unknown hardware type counts as missing', () => {
    const r = checkCompatibility([req('TELEPORTER')], caps('Mentra Live'));
    expect(r.compatible).toBe(false);
    expect(r.missingRequired).toEqual(['TELEPORTER']);
  });

  it('each hardware type is checked against its own capability flag, on every model', () => {
    const flag: Record<string, (c: ReturnType<typeof caps>) => boolean> = {
      CAMERA: (c) => c.hasCamera,
      DISPLAY: (c) => c.hasDisplay,
      MICROPHONE: () => true,
      SPEAKER: (c) => c.hasSpeaker,
      IMU: (c) => c.hasIMU,
      BUTTON: (c) => c.hasButton,
      LIGHT: (c) => c.hasLight,
      WIFI: (c) => c.hasWifi,
    };
    for (const model of [
      'Even Realities G1',
      'Even Realities G2',
      'Mentra Live',
      'Mentra Display',
      'Vuzix Z100',
      'Simulated Glasses',
      'NIMO',
    ]) {
      const c = caps(model);
      for (const [type, has] of Object.entries(flag)) {
        expect(checkCompatibility([req(type)], c).compatible, `${type} on ${model}`).toBe(has(c));
      }
    }
    // Spot checks against the table, so a wrong profile and a wrong check cannot cancel out.
    expect(checkCompatibility([req('DISPLAY')], caps('Mentra Live')).compatible).toBe(false);
    expect(
      checkCompatibility(
        [req('CAMERA'), req('WIFI'), req('LIGHT'), req('SPEAKER'), req('BUTTON'), req('IMU')],
        caps('Mentra Live'),
      ).compatible,
    ).toBe(true);
    expect(checkCompatibility([req('IMU')], caps('Even Realities G1')).compatible).toBe(true);
    expect(checkCompatibility([req('IMU')], caps('Vuzix Z100')).compatible).toBe(false);
  });
});
