/**
 * The admin API calls the simulator needs, with errors a person can act on. Every failure is a
 * SetupError subclass (CLI exit code 3).
 */

export class SetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SetupError';
  }
}

export class CloudUnreachableError extends SetupError {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    const code = (cause as { cause?: { code?: string } })?.cause?.code ?? (cause as { code?: string })?.code;
    super(
      `Cannot reach the cloud at ${url} (${code ?? (cause as Error)?.message ?? 'network error'}). Is it running (npm start)? Set --cloud URL if it is elsewhere.`,
      { cause },
    );
    this.name = 'CloudUnreachableError';
  }
}

export class AdminKeyError extends SetupError {
  constructor(url: string, source: string) {
    super(
      `The cloud at ${url} refused the admin API key (401) taken from ${source}. Use the key the cloud printed at start (or its DATA_DIR/secrets.json), via --admin-key or ADMIN_API_KEY.`,
    );
    this.name = 'AdminKeyError';
  }
}

export class UnknownAppError extends SetupError {
  constructor(
    readonly packageName: string,
    known: string[],
  ) {
    super(
      `Unknown app ${packageName}: it is not registered in this cloud. ${known.length ? `Registered apps: ${known.join(', ')}.` : 'No apps are registered yet.'} Register it in the developer console (/console) or with POST /api/admin/apps.`,
    );
    this.name = 'UnknownAppError';
  }
}

export class AppStartError extends SetupError {
  constructor(
    readonly packageName: string,
    /** LOOKUP, HARDWARE_CHECK, WEBHOOK, INIT_REFUSED, TIMEOUT, CANCELLED, SESSION_ENDED (or UNKNOWN). */
    readonly stage: string,
    detail: string,
  ) {
    super(
      `Starting ${packageName} failed at stage ${stage}: ${detail}${STAGE_HINTS[stage] ? `\n  hint: ${STAGE_HINTS[stage]}` : ''}`,
    );
    this.name = 'AppStartError';
  }
}

const STAGE_HINTS: Record<string, string> = {
  WEBHOOK:
    "the cloud could not deliver the session webhook: is the app's server running at its publicUrl, and does POST {publicUrl}/webhook answer 2xx?",
  TIMEOUT:
    "the webhook was accepted but the app never connected to /app-ws: check the app's logs and its API key (MENTRAOS_API_KEY / apiKey).",
  INIT_REFUSED:
    "the app connected to /app-ws but the cloud refused its init: check the app's API key (MENTRAOS_API_KEY / apiKey) and packageName.",
  HARDWARE_CHECK: 'the app requires hardware this glasses model lacks: try another --model.',
  LOOKUP: 'the app is not registered or not installed for this user.',
};

export class CloudRequestError extends SetupError {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const b = body as { message?: unknown; code?: unknown } | undefined;
    const msg = Array.isArray(b?.message)
      ? b.message.join('; ')
      : typeof b?.message === 'string'
        ? b.message
        : JSON.stringify(body);
    super(`${what} failed: HTTP ${status}${b?.code ? ` ${String(b.code)}` : ''}: ${msg}`);
    this.name = 'CloudRequestError';
  }
}

export interface SessionSummaryLite {
  userId: string;
  glassesConnected: boolean;
  runningApps: string[];
  loadingApps: string[];
  apps: Array<{
    packageName: string;
    state: string;
    connected: boolean;
    lastStart?: { at: string; ok: boolean; stage?: string; message?: string };
  }>;
  subscriptions: Record<string, string[]>;
  modelName: string | null;
  microphone?: unknown;
}

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
    private readonly keySource = 'the given key',
  ) {}

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { auth?: boolean; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: T }> {
    const url = this.baseUrl + path;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(opts.auth === false ? {} : { authorization: `Bearer ${this.key}` }),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      });
    } catch (err) {
      throw new CloudUnreachableError(this.baseUrl, err);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    if (res.status === 401 && opts.auth !== false) throw new AdminKeyError(this.baseUrl, this.keySource);
    return { status: res.status, body: parsed as T };
  }

  async listApps(): Promise<Array<{ packageName: string; name: string; appType: string; publicUrl: string }>> {
    const r = await this.request<Array<{ packageName: string; name: string; appType: string; publicUrl: string }>>(
      'GET',
      '/api/admin/apps',
    );
    if (r.status === 404)
      throw new SetupError(
        `${this.baseUrl} has no admin API (GET /api/admin/apps answered 404): is --cloud pointing at a MentraOS open cloud?`,
      );
    if (r.status !== 200 || !Array.isArray(r.body)) throw new CloudRequestError(r.status, r.body, 'Listing apps');
    return r.body;
  }

  /** Creates the user if needed. */
  async coreToken(userId: string): Promise<string> {
    const r = await this.request<{ coreToken: string }>('POST', `/api/admin/users/${encodeURIComponent(userId)}/token`);
    if (r.status !== 201 && r.status !== 200)
      throw new CloudRequestError(r.status, r.body, `Getting a core token for ${userId}`);
    return r.body.coreToken;
  }

  async install(userId: string, packageName: string): Promise<void> {
    const r = await this.request(
      'PUT',
      `/api/admin/users/${encodeURIComponent(userId)}/apps/${encodeURIComponent(packageName)}`,
    );
    if (r.status === 404)
      throw new UnknownAppError(
        packageName,
        (await this.listApps()).map((a) => a.packageName),
      );
    if (r.status !== 200) throw new CloudRequestError(r.status, r.body, `Installing ${packageName} for ${userId}`);
  }

  /** Waits for the outcome; throws AppStartError with the failing stage. */
  async start(userId: string, packageName: string, timeoutMs = 60_000): Promise<{ alreadyRunning: boolean }> {
    const r = await this.request<{
      alreadyRunning?: boolean;
      code?: string;
      message?: string;
      details?: { stage?: string };
    }>(
      'POST',
      `/api/admin/sessions/${encodeURIComponent(userId)}/apps/${encodeURIComponent(packageName)}/start`,
      undefined,
      { timeoutMs },
    );
    if (r.status === 201 || r.status === 200) return { alreadyRunning: r.body.alreadyRunning === true };
    const stage = r.body?.details?.stage;
    if (stage || r.body?.code === 'START_FAILED')
      throw new AppStartError(packageName, stage ?? 'UNKNOWN', r.body?.message ?? `HTTP ${r.status}`);
    throw new CloudRequestError(r.status, r.body, `Starting ${packageName}`);
  }

  async stop(userId: string, packageName: string): Promise<boolean> {
    const r = await this.request(
      'POST',
      `/api/admin/sessions/${encodeURIComponent(userId)}/apps/${encodeURIComponent(packageName)}/stop`,
    );
    if (r.status === 201 || r.status === 200) return true;
    if (r.status === 409) return false; // not running
    throw new CloudRequestError(r.status, r.body, `Stopping ${packageName}`);
  }

  async session(userId: string): Promise<SessionSummaryLite | null> {
    const r = await this.request<SessionSummaryLite>('GET', `/api/admin/sessions/${encodeURIComponent(userId)}`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new CloudRequestError(r.status, r.body, `Reading the session of ${userId}`);
    return r.body;
  }

  /** Calls one of the app's declared tools for the user; resolves with what the app's onToolCall returned. */
  async callTool(
    userId: string,
    packageName: string,
    toolId: string,
    toolParameters: Record<string, string | number | boolean>,
  ): Promise<unknown> {
    const r = await this.request<{ reply?: unknown; message?: unknown }>(
      'POST',
      `/api/admin/sessions/${encodeURIComponent(userId)}/apps/${encodeURIComponent(packageName)}/tools/${encodeURIComponent(toolId)}`,
      { toolParameters },
    );
    if (r.status === 200) return r.body.reply ?? null;
    throw new CloudRequestError(r.status, r.body, `Calling tool ${toolId} of ${packageName}`);
  }

  /** A short-lived link to the web simulator for this user; null when the cloud has no web UI. */
  async simulatorLink(userId: string, model: string): Promise<{ url: string; path: string; expiresAt: string } | null> {
    const r = await this.request<{ url: string; path: string; expiresAt: string }>('POST', '/api/simulator/links', {
      userId,
      model,
    });
    if (r.status !== 201 && r.status !== 200) return null;
    return r.body;
  }
}
