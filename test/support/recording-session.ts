import type { UserSession } from '../../src/session/user-session.js';

export interface RecordedCall {
  /** `manager.method`, e.g. `photo.handleResponse`. */
  call: string;
  args: unknown[];
}

/**
 * A stand-in UserSession for the message handlers' specs: every `session.<manager>.<method>(…)` (for a manager
 * built on first use, through `session.built('<manager>')` or `session.use('<manager>')`) is recorded and
 * answers `answers['manager.method']` (a value, or a function of the arguments), or `{ ok: true }`. The specs check
 * where a message goes, not what the managers do with it (their own specs do that).
 */
export function recordingSession(
  answers: Record<string, unknown> = {},
  fields: { userId?: string; glassesOpen?: boolean } = {},
): { session: UserSession; calls: RecordedCall[]; called(call: string): unknown[][] } {
  const calls: RecordedCall[] = [];
  const manager = (name: string) =>
    new Proxy(
      {},
      {
        get: (_t, method) => {
          if (typeof method !== 'string' || method === 'then') return undefined;
          return (...args: unknown[]) => {
            const call = `${name}.${method}`;
            calls.push({ call, args });
            const answer = answers[call];
            return typeof answer === 'function'
              ? (answer as (...a: unknown[]) => unknown)(...args)
              : (answer ?? { ok: true });
          };
        },
      },
    );
  const ctx = { userId: fields.userId ?? 'user@example.com', glassesOpen: fields.glassesOpen ?? true };
  const session = new Proxy(
    {},
    {
      get: (_t, prop) => {
        if (prop === 'userId') return ctx.userId;
        if (prop === 'ctx') return ctx;
        // Managers built on first use are there at once, as if built: specs see the same calls either way.
        if (prop === 'built') return (name: string) => manager(name);
        if (prop === 'use') return async (name: string) => manager(name);
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        return manager(prop);
      },
    },
  ) as UserSession;
  return { session, calls, called: (call) => calls.filter((c) => c.call === call).map((c) => c.args) };
}
