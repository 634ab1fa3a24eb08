import type { AppPermission, PermissionType } from '../persistence/persistence.types.js';
import { glassesInboundRow } from '../protocol/glasses-inbound.js';

const LANG = /^[a-z]{2,3}-[A-Z]{2}$/;

export interface LanguageStream {
  kind: 'transcription' | 'translation';
  /** `transcription:en-US` / `translation:es-ES-to-en-US`: what one provider stream serves. */
  base: string;
  transcribeLanguage: string;
  translateLanguage?: string;
  options: Record<string, string | boolean>;
}

/** Parses `transcription:<lang>[?opts]` and `translation:<src|all>-to-<tgt>[?opts]` as the SDK does. */
export function parseLanguageStream(subscription: string): LanguageStream | null {
  const colon = subscription.indexOf(':');
  if (colon < 0) return null;
  const kind = subscription.slice(0, colon);
  if (kind !== 'transcription' && kind !== 'translation') return null;
  const rest = subscription.slice(colon + 1);
  const q = rest.indexOf('?');
  const spec = q < 0 ? rest : rest.slice(0, q);
  const options: Record<string, string | boolean> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(rest.slice(q + 1)))
      options[k] = v === 'true' ? true : v === 'false' ? false : v;
  }
  if (kind === 'transcription') {
    if (!LANG.test(spec)) return null;
    return { kind, base: `transcription:${spec}`, transcribeLanguage: spec, options };
  }
  const m = /^([a-z]{2,3}-[A-Z]{2}|all)-to-([a-z]{2,3}-[A-Z]{2})$/.exec(spec);
  if (!m) return null;
  return { kind, base: `translation:${m[1]}-to-${m[2]}`, transcribeLanguage: m[1]!, translateLanguage: m[2]!, options };
}

/** A bare `transcription` means `transcription:en-US`, as the SDK and the upstream cloud read it. */
export function normalizeSubscription(s: string): string {
  return s === 'transcription' ? 'transcription:en-US' : s;
}

/** The key under which a subscription is indexed: the glasses message type (or language base) it matches. */
export function relayKeyOf(subscription: string): string {
  if (subscription === 'location_stream') return 'location_update';
  const lang = parseLanguageStream(subscription);
  return lang ? lang.base : subscription;
}

/** Streams that are not glasses messages, and what they need; the glasses' own are in the protocol table. */
const OTHER_STREAM_PERMISSIONS = new Map<string, PermissionType>([
  ['audio_chunk', 'MICROPHONE'],
  ['transcription', 'MICROPHONE'],
  ['translation', 'MICROPHONE'],
  // Gated like location_update, the stream it is a form of.
  ['location_stream', 'LOCATION'],
  ['managed_stream_status', 'CAMERA'],
]);

/** The permission a stream needs: a glasses type's from its protocol row, the others' from the list above. */
export function requiredPermission(subscription: string): PermissionType | null {
  const key = subscription.includes(':') ? subscription.slice(0, subscription.indexOf(':')) : subscription;
  return glassesInboundRow(key)?.permission ?? OTHER_STREAM_PERMISSIONS.get(key) ?? null;
}

export function permissionSet(perms: AppPermission[]): Set<PermissionType> {
  const set = new Set<PermissionType>(perms.map((p) => p.type));
  if (set.has('NOTIFICATIONS')) set.add('READ_NOTIFICATIONS');
  return set;
}

export function hasPermission(granted: Set<PermissionType>, needed: PermissionType | null): boolean {
  return needed === null || granted.has('ALL') || granted.has(needed);
}

/** Whether a subscription makes the session need audio from the glasses, and in which form. */
export function audioNeedOf(subscription: string): 'pcm' | 'transcription' | null {
  if (subscription === 'audio_chunk') return 'pcm';
  if (subscription.startsWith('transcription') || subscription.startsWith('translation')) return 'transcription';
  return null;
}
