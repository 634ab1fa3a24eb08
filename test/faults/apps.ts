import type { AppSession } from '@mentra/sdk';
import { logger as sdkLogger } from '@mentra/sdk';
import { serveSdkApp, type SdkAppHandle } from '../support/sdk-app.js';
import type { Service } from './support.js';

// The SDK logs its own reconnection attempts (ECONNREFUSED while the cloud restarts) as errors: expected here.
sdkLogger.level = 'fatal';

export interface SdkAppRecord {
  handle: SdkAppHandle;
  apiKey: string;
  /** Successful session_request webhooks (the SDK answers 200 only after connecting). */
  webhooks: Array<{ sessionId: string; userId: string; at: number }>;
  /** Close codes each SDK session saw (`disconnected` events). */
  disconnects: Array<{ userId: string; code: number; reason: string }>;
}

/**
 * Registers `packageName`, installs it for `users` and serves it from a real, unmodified @mentra/sdk AppServer
 * (test/support/sdk-app.ts); `onSession` wires the handlers as a developer would.
 */
export async function startSdkAppOn(
  svc: Service,
  packageName: string,
  users: string[],
  onSession: (session: AppSession, userId: string) => void | Promise<void>,
  permissions: { type: string }[] = [{ type: 'MICROPHONE' }],
): Promise<SdkAppRecord> {
  const record: SdkAppRecord = { handle: undefined as never, apiKey: '', webhooks: [], disconnects: [] };
  const { app, apiKey } = await serveSdkApp(
    svc,
    { packageName, appType: 'background', permissions },
    users,
    async (session, sessionId, userId) => {
      record.webhooks.push({ sessionId, userId, at: Date.now() });
      session.events.onDisconnected((info) => {
        const i =
          typeof info === 'string' ? { code: 0, reason: info } : { code: info.code ?? 0, reason: info.reason ?? '' };
        record.disconnects.push({ userId, ...i });
      });
      await onSession(session, userId);
    },
  );
  record.handle = app;
  record.apiKey = apiKey;
  return record;
}
