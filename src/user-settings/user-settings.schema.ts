import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsNumber,
  IsOptional,
  IsString,
  IsTimeZone,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { assertStorable } from '../persistence/key.guard.js';

/**
 * The settings the phone keeps on the cloud (`/api/client/user/settings`), under the phone's snake_case keys.
 * The keys listed here are typed and checked; `null` removes one (back to its default). Other keys the phone
 * stores for itself are accepted when their name and size are sane, and kept as they are.
 */
export class KnownUserSettings {
  @IsOptional() @IsBoolean() metric_system?: boolean | null;
  @IsOptional() @IsBoolean() contextual_dashboard?: boolean | null;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(90) head_up_angle?: number | null;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(100) brightness?: number | null;
  @IsOptional() @IsBoolean() auto_brightness?: boolean | null;
  @IsOptional() @IsBoolean() sensing_enabled?: boolean | null;
  @IsOptional() @IsBoolean() always_on_status_bar?: boolean | null;
  @IsOptional() @IsBoolean() bypass_vad?: boolean | null;
  /** The name the newest phone app writes. */
  @IsOptional() @IsBoolean() bypass_vad_for_debugging?: boolean | null;
  @IsOptional() @IsBoolean() bypass_audio_encoding?: boolean | null;
  @IsOptional() @IsBoolean() bypass_audio_encoding_for_debugging?: boolean | null;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(32) preferred_mic?: string | null;
  /** A glasses model name (see the capability profiles); unknown names get the fallback profile. */
  @IsOptional() @IsString() @MinLength(1) @MaxLength(128) @Matches(/^[^\p{Cc}]+$/u) default_wearable?: string | null;
  /** An IANA time zone name, e.g. `Europe/Berlin`. */
  @IsOptional() @IsString() @IsTimeZone() timezone?: string | null;
}

type KnownKey = keyof KnownUserSettings;
const KNOWN_KEYS = new Set<string>([
  'metric_system',
  'contextual_dashboard',
  'head_up_angle',
  'brightness',
  'auto_brightness',
  'sensing_enabled',
  'always_on_status_bar',
  'bypass_vad',
  'bypass_vad_for_debugging',
  'bypass_audio_encoding',
  'bypass_audio_encoding_for_debugging',
  'preferred_mic',
  'default_wearable',
  'timezone',
] satisfies KnownKey[]);

/** Keys the phone indexes by device (`preferred_mic:<model>`), checked like their base key. */
const INDEXED_KEYS = new Set(['preferred_mic']);

/** `snake_case`, optionally `:<device>`; never `.` or `$` (each key is one path in the store). */
const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}(?::[^.$\p{Cc}]{1,64})?$/u;
const RESERVED_KEYS = new Set(['constructor', 'prototype']);

export const MAX_KEYS_PER_UPDATE = 100;
/** Stored keys per user; a write that would pass this is refused. */
export const MAX_STORED_KEYS = 300;
/** JSON length of one value of a key this cloud does not interpret. */
export const MAX_VALUE_JSON_LENGTH = 4096;

export type SettingsCheck = { ok: true; patch: Record<string, unknown> } | { ok: false; problems: string[] };

function flatten(errors: ValidationError[], prefix: string): string[] {
  return errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `${prefix}${m}`));
}

/** Checks the `settings` object of a PUT/POST; the patch it returns holds exactly the given keys. */
export function checkSettingsPatch(settings: unknown): SettingsCheck {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings))
    return { ok: false, problems: ['settings must be an object of {key: value}'] };
  const entries = Object.entries(settings as Record<string, unknown>);
  if (entries.length === 0) return { ok: false, problems: ['settings must hold at least one key'] };
  if (entries.length > MAX_KEYS_PER_UPDATE)
    return { ok: false, problems: [`settings may change at most ${MAX_KEYS_PER_UPDATE} keys at once`] };
  const problems: string[] = [];
  const known: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    if (!KEY_PATTERN.test(key) || RESERVED_KEYS.has(key)) {
      problems.push(`settings key ${JSON.stringify(key.slice(0, 80))} is not a valid setting name`);
      continue;
    }
    const colon = key.indexOf(':');
    const base = colon < 0 ? key : key.slice(0, colon);
    if (colon >= 0 && INDEXED_KEYS.has(base)) {
      // Checked as its base key under a placeholder name, reported under its own.
      const errors = validateSync(plainToInstance(KnownUserSettings, { [base]: value }));
      problems.push(...flatten(errors, '').map((m) => m.replace(base, key)));
    } else if (KNOWN_KEYS.has(key)) {
      known[key] = value;
    } else if (value !== null && value !== undefined) {
      try {
        assertStorable(value, `settings.${key}`);
        if (JSON.stringify(value).length > MAX_VALUE_JSON_LENGTH)
          problems.push(`settings.${key} is longer than ${MAX_VALUE_JSON_LENGTH} characters of JSON`);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }
  problems.push(...flatten(validateSync(plainToInstance(KnownUserSettings, known)), 'settings.'));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, patch: Object.fromEntries(entries) };
}

const bool = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : fallback);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * What apps get as `mentraosSettings` (their ack) and in `augmentos_settings_update`: the SDK's camelCase
 * names over the stored snake_case values, defaults where nothing is stored. Always the whole object: the
 * SDK replaces its copy with each update and reports absent keys as removed.
 */
export function buildMentraosSettings(stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const s = stored ?? {};
  const wearable = str(s.default_wearable);
  const preferredMic = str(wearable ? s[`preferred_mic:${wearable}`] : undefined) ?? str(s.preferred_mic) ?? 'auto';
  return {
    metricSystemEnabled: bool(s.metric_system, false),
    contextualDashboard: bool(s.contextual_dashboard, true),
    headUpAngle: num(s.head_up_angle, 45),
    brightness: num(s.brightness, 50),
    autoBrightness: bool(s.auto_brightness, true),
    sensingEnabled: bool(s.sensing_enabled, true),
    alwaysOnStatusBar: bool(s.always_on_status_bar, false),
    bypassVad: bool(s.bypass_vad, bool(s.bypass_vad_for_debugging, false)),
    bypassAudioEncoding: bool(s.bypass_audio_encoding, bool(s.bypass_audio_encoding_for_debugging, false)),
    preferredMic,
    useOnboardMic: preferredMic === 'glasses',
    userTimezone: str(s.timezone),
  };
}
