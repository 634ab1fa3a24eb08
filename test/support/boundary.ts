import type { TypedMessage } from '../../src/common/json.util.js';
import type { Failure } from '../../src/common/result.js';
import { GLASSES_CHECKS, type GlassesCheckedType } from '../../src/protocol/glasses-checks.js';
import type { GlassesInbound } from '../../src/protocol/glasses-inbound.js';
import type { AppCheckCode } from '../../src/protocol/app-checks.js';
import { AppRefusal, checkAppMessage, type AppInboundMessage } from '../../src/protocol/app-inbound.js';
import type { AppToCloudMessage, AppToCloudType } from '../../src/protocol/app.types.js';

/**
 * An app message handed to a manager the way `AppMessageHandler` hands it: through the boundary check of
 * `src/protocol/app-checks.ts` first. A refusal comes back as the `{ ok: false, code, message }` the app is sent.
 */
export function viaBoundary<K extends AppToCloudType, R>(
  type: K,
  fields: Record<string, unknown>,
  run: (msg: AppToCloudMessage<K>) => R,
): R | Failure<AppCheckCode> {
  const msg = checkAppMessage({ ...fields, type } as AppInboundMessage);
  if (msg instanceof AppRefusal) return { ok: false, code: msg.code, message: msg.message };
  return run(msg as AppToCloudMessage<K>);
}

/** An app message that must pass its boundary check, typed as its manager receives it. */
export function appMessage<K extends AppToCloudType>(
  type: K,
  fields: Record<string, unknown> = {},
): AppToCloudMessage<K> {
  return viaBoundary(type, fields, (msg) => msg) as AppToCloudMessage<K>;
}

/**
 * A glasses message handed to its handler the way `GlassesMessageHandler` does: only when its row's check
 * (`src/protocol/glasses-checks.ts`) passes. Returns the handler's answer, or undefined when it was skipped.
 */
export function viaGlassesBoundary<K extends GlassesCheckedType, R>(
  msg: { type: K } & Record<string, unknown>,
  run: (msg: GlassesInbound<K>) => R,
): R | undefined {
  const check = GLASSES_CHECKS[msg.type] as (m: TypedMessage) => boolean;
  return check(msg) ? run(msg as unknown as GlassesInbound<K>) : undefined;
}
