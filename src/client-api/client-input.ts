import { BadRequestException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { DeviceState } from '../device/device-manager.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import { CalendarEventBody, type DeviceStateBody, type LocationBody } from './client-api.dto.js';

export function badRequest(message: string | string[]): BadRequestException {
  return new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message });
}

function problems(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = `${prefix}${e.property}`;
    const own = Object.values(e.constraints ?? {}).map((m) =>
      m.startsWith(e.property) ? `${prefix}${m}` : `${path}: ${m}`,
    );
    return [...own, ...problems(e.children ?? [], `${path}.`)];
  });
}

function validated<T extends object>(
  cls: new () => T,
  value: unknown,
): { ok: true; value: T } | { ok: false; problems: string[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, problems: ['must be a JSON object'] };
  const instance = plainToInstance(cls, value);
  // Declared fields are checked; the rest of what the phone forwards is dropped, not refused.
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: false });
  return errors.length > 0 ? { ok: false, problems: problems(errors) } : { ok: true, value: instance };
}

/** A loose body (see client-api.dto.ts): its declared fields checked, 400 with every problem otherwise. */
export function checkLoose<T extends object>(cls: new () => T, body: unknown): T {
  const r = validated(cls, body);
  if (!r.ok) throw badRequest(r.problems);
  return r.value;
}

/**
 * The device state change a `POST /api/client/device/state` body means. Connected is inferred from the
 * model when not given (a model: connected; `null` or empty: not), as upstream does.
 */
export function deviceStatePatch(body: DeviceStateBody): Partial<DeviceState> {
  const modelName = body.modelName === undefined ? undefined : body.modelName || null;
  const connected =
    typeof body.connected === 'boolean' ? body.connected : modelName === undefined ? undefined : modelName !== null;
  if (connected === true && !modelName) throw badRequest('modelName required when connected=true');
  const patch: Partial<DeviceState> = {};
  if (connected !== undefined) patch.connected = connected;
  // Disconnected glasses have no model, whatever else the phone still holds.
  if (modelName !== undefined || connected === false) patch.modelName = connected === false ? null : modelName;
  if (typeof body.wifiConnected === 'boolean') patch.wifiConnected = body.wifiConnected;
  if (body.wifiSsid !== undefined) patch.wifiSsid = body.wifiSsid;
  if (typeof body.batteryLevel === 'number' && body.batteryLevel >= 0) patch.batteryLevel = body.batteryLevel;
  if (typeof body.charging === 'boolean') patch.charging = body.charging;
  return patch;
}

/** The fix of a location body in any of its three forms, or 400. */
export function locationFix(body: LocationBody): { lat: number; lng: number; accuracy?: number } {
  const point = body.location ?? body;
  const p = point as { lat?: number; lng?: number; latitude?: number; longitude?: number; accuracy?: number | null };
  const lat = p.lat ?? p.latitude ?? point.coords?.latitude;
  const lng = p.lng ?? p.longitude ?? point.coords?.longitude;
  const accuracy = p.accuracy ?? point.coords?.accuracy;
  if (typeof lat !== 'number' || typeof lng !== 'number')
    throw badRequest(
      'location needs lat and lng: {location: {lat, lng, accuracy?}}, {location: {coords: {latitude, longitude}}} or {coords: {latitude, longitude}}',
    );
  return typeof accuracy === 'number' ? { lat, lng, accuracy } : { lat, lng };
}

function isoOf(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

/**
 * An Expo Calendar event as the `calendar_event` message the glasses socket carries (what CalendarManager
 * and the SDK's `onCalendarEvent` take), or null when it lacks an id, a title or a valid start.
 */
export function calendarEventMessage(event: unknown): GlassesInbound<'calendar_event'> | null {
  const r = validated(CalendarEventBody, event);
  if (!r.ok) return null;
  const e = r.value;
  const eventId = e.id ?? e.eventId;
  const dtStart = isoOf(e.startDate ?? e.dtStart);
  if (!eventId || !dtStart) return null;
  return {
    type: 'calendar_event',
    eventId,
    title: e.title,
    dtStart,
    dtEnd: isoOf(e.endDate ?? e.dtEnd) ?? dtStart,
    timezone: e.timeZone ?? e.timezone ?? '',
    timeStamp: new Date().toISOString(),
    ...(e.allDay === true ? { allDay: true } : {}),
  };
}
