import { describe, expect, it } from 'vitest';
import { buildMentraosSettings, checkSettingsPatch, MAX_KEYS_PER_UPDATE } from './user-settings.schema.js';

const problemsOf = (settings: unknown): string[] => {
  const r = checkSettingsPatch(settings);
  return r.ok ? [] : r.problems;
};

describe('checkSettingsPatch', () => {
  it('accepts the known keys with their types, null to remove one, and keeps the patch as given', () => {
    const settings = {
      metric_system: true,
      contextual_dashboard: false,
      head_up_angle: 30,
      brightness: 75.5,
      auto_brightness: false,
      sensing_enabled: true,
      always_on_status_bar: true,
      bypass_vad: false,
      bypass_vad_for_debugging: true,
      preferred_mic: 'glasses',
      'preferred_mic:Mentra Live': 'phone',
      default_wearable: 'Even Realities G1',
      timezone: 'Europe/Berlin',
      brightness_old: null,
    };
    expect(checkSettingsPatch(settings)).toEqual({ ok: true, patch: settings });
    expect(checkSettingsPatch({ default_wearable: null, timezone: null })).toMatchObject({ ok: true });
  });

  it('refuses wrong types and out-of-range values of known keys, naming each', () => {
    const problems = problemsOf({
      metric_system: 'yes',
      brightness: 101,
      head_up_angle: -1,
      timezone: 'Mars/Olympus_Mons',
      default_wearable: '',
      'preferred_mic:G1': 42,
    });
    expect(problems.join('\n')).toMatch(/metric_system must be a boolean/);
    expect(problems.join('\n')).toMatch(/brightness must not be greater than 100/);
    expect(problems.join('\n')).toMatch(/head_up_angle must not be less than 0/);
    expect(problems.join('\n')).toMatch(/timezone must be a valid IANA time-zone/);
    expect(problems.join('\n')).toMatch(/default_wearable must be longer than or equal to 1/);
    expect(problems.join('\n')).toMatch(/preferred_mic:G1 must be a string/);
  });

  it('accepts other sane keys as they are, and refuses unsafe names, nested operators and oversized values', () => {
    expect(checkSettingsPatch({ theme_preference: 'dark', enabled_features: ['a', { b: 1 }] })).toMatchObject({
      ok: true,
    });
    for (const key of ['$where', 'a.b', '__proto__', 'constructor', '1abc', 'x'.repeat(65), 'with space'])
      expect(problemsOf(JSON.parse(JSON.stringify({ [key]: 1 }))).join()).toMatch(/not a valid setting name/);
    expect(problemsOf({ nested: { $gt: '' } }).join()).toMatch(/cannot be stored/);
    expect(problemsOf({ big: 'x'.repeat(5000) }).join()).toMatch(/longer than 4096/);
  });

  it('refuses a body that is not an object, an empty one and one with too many keys', () => {
    expect(problemsOf([{ key: 'a', value: 1 }])).toEqual(['settings must be an object of {key: value}']);
    expect(problemsOf(null)).toHaveLength(1);
    expect(problemsOf({})).toEqual(['settings must hold at least one key']);
    const many = Object.fromEntries(Array.from({ length: MAX_KEYS_PER_UPDATE + 1 }, (_, i) => [`k${i}`, i]));
    expect(problemsOf(many).join()).toMatch(/at most 100 keys/);
  });
});

describe('buildMentraosSettings', () => {
  it('gives the defaults for nothing stored', () => {
    expect(buildMentraosSettings(undefined)).toEqual({
      metricSystemEnabled: false,
      contextualDashboard: true,
      headUpAngle: 45,
      brightness: 50,
      autoBrightness: true,
      sensingEnabled: true,
      alwaysOnStatusBar: false,
      bypassVad: false,
      bypassAudioEncoding: false,
      preferredMic: 'auto',
      useOnboardMic: false,
      userTimezone: null,
    });
  });

  it('maps each stored snake_case value to its SDK name; the device-indexed mic wins for the default wearable', () => {
    expect(
      buildMentraosSettings({
        metric_system: true,
        contextual_dashboard: false,
        head_up_angle: 20,
        brightness: 80,
        auto_brightness: false,
        sensing_enabled: false,
        always_on_status_bar: true,
        bypass_vad_for_debugging: true,
        bypass_audio_encoding: true,
        default_wearable: 'Mentra Live',
        preferred_mic: 'phone',
        'preferred_mic:Mentra Live': 'glasses',
        timezone: 'America/New_York',
      }),
    ).toEqual({
      metricSystemEnabled: true,
      contextualDashboard: false,
      headUpAngle: 20,
      brightness: 80,
      autoBrightness: false,
      sensingEnabled: false,
      alwaysOnStatusBar: true,
      bypassVad: true,
      bypassAudioEncoding: true,
      preferredMic: 'glasses',
      useOnboardMic: true,
      userTimezone: 'America/New_York',
    });
  });

  it('ignores stored values of the wrong type (written before they were checked)', () => {
    expect(buildMentraosSettings({ metric_system: 'true', brightness: 'high' })).toMatchObject({
      metricSystemEnabled: false,
      brightness: 50,
    });
  });
});
