import { Inject, Injectable, Optional } from '@nestjs/common';
import type { StartResult } from '../app-connections/app-connections.js';
import { ClusterBus, type NodeAnswer } from '../cluster/cluster-bus.js';
import type { RequestOf, RequestType, ResponseOf } from '../cluster/cluster.messages.js';
import { CloudError } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import type { SessionSummary, UserSession } from '../session/user-session.js';

/** A session summary as the admin API shows it; clustered, with the process that holds the session. */
export type OwnedSummary = SessionSummary & { ownerNode?: string };

export type AppStates = ReturnType<UserSession['apps']['describe']>;

export interface SessionList {
  sessions: OwnedSummary[];
  /** Clustered: the processes that did not answer (`redis` when the node list could not be read). */
  missing: string[];
}

/** A summary travels the bus as plain JSON (the message types do not know the session's types). */
const wire = (summary: OwnedSummary) => summary as unknown as Record<string, unknown>;
const unwire = (json: Record<string, unknown>) => json as unknown as OwnedSummary;

/**
 * Calls on a user's live session from whichever process got the request. The process holding the session runs
 * it; in cluster mode, when that is another process, the call goes to it over the bus (`toOwner`) and its outcome
 * (result or CloudError) comes back as if it had run here, so a route answers the same status and body from any
 * process. Without REDIS_URL there is no bus: everything runs on the local session, as before.
 */
@Injectable()
export class SessionCalls {
  constructor(
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly bus?: ClusterBus,
  ) {
    if (!bus) return;
    bus.handle('admin.sessions', () => ({ sessions: this.localSummaries().map(wire) }));
    bus.handle('admin.session', ({ userId }) => wire(this.summaryOf(this.here(userId))));
    bus.handle('admin.start-app', ({ userId, packageName, reqId }) =>
      this.here(userId).apps.startApp(packageName, { reqId }),
    );
    bus.handle('admin.stop-app', async ({ userId, packageName }) => ({
      stopped: await this.here(userId).apps.stopApp(packageName, 'user_disabled'),
    }));
    bus.handle('admin.end-session', ({ userId }) => this.endHere(userId));
    bus.handle('admin.device', ({ userId, modelName, connected }) =>
      wire(this.deviceHere(userId, modelName, connected)),
    );
    bus.handle('session.apps', ({ userId }) => ({ apps: this.here(userId).apps.describe() }));
  }

  /** The sessions of the whole cluster (`local`: of this process only), each with its owner when clustered. */
  async list(scope: 'cluster' | 'local'): Promise<SessionList> {
    if (!this.bus || scope === 'local') return { sessions: this.localSummaries(), missing: [] };
    let answers: Array<NodeAnswer<'admin.sessions'>>;
    try {
      answers = await this.bus.requestAll('admin.sessions', {});
    } catch {
      return { sessions: this.localSummaries(), missing: ['redis'] };
    }
    const sessions: OwnedSummary[] = [];
    const missing: string[] = [];
    for (const a of answers)
      if (a.ok) sessions.push(...a.result.sessions.map(unwire));
      else missing.push(a.nodeId);
    return { sessions, missing };
  }

  async summary(userId: string): Promise<OwnedSummary> {
    return unwire(await this.route(userId, 'admin.session', { userId }, (s) => wire(this.summaryOf(s))));
  }

  /**
   * Starts an app and waits for the outcome, on the owner: the wait covers the start's own deadlines. `reqId`, the
   * HTTP request's id, names the start in its log lines and goes out with its webhook.
   */
  async startApp(userId: string, packageName: string, reqId?: string): Promise<StartResult> {
    const deadline =
      this.config.webhookRetryWindowMs +
      this.config.webhookTimeoutMs +
      this.config.appInitTimeoutMs +
      this.config.clusterOptions.requestTimeoutMs;
    const result = await this.route(
      userId,
      'admin.start-app',
      { userId, packageName, reqId },
      (s) => s.apps.startApp(packageName, { reqId }),
      deadline,
    );
    return result as StartResult;
  }

  /** False when the app was not running. */
  async stopApp(userId: string, packageName: string): Promise<boolean> {
    const { stopped } = await this.route(userId, 'admin.stop-app', { userId, packageName }, async (s) => ({
      stopped: await s.apps.stopApp(packageName, 'user_disabled'),
    }));
    return stopped;
  }

  async endSession(userId: string): Promise<void> {
    await this.route(userId, 'admin.end-session', { userId }, () => this.endHere(userId));
  }

  async setDevice(userId: string, modelName: string, connected: boolean): Promise<OwnedSummary> {
    const summary = await this.route(userId, 'admin.device', { userId, modelName, connected }, () =>
      wire(this.deviceHere(userId, modelName, connected)),
    );
    return unwire(summary);
  }

  /** The live state of the user's apps; empty when no process holds a session of the user or it cannot be asked. */
  async appStates(userId: string): Promise<AppStates> {
    try {
      const { apps } = await this.route(userId, 'session.apps', { userId }, (s) => ({ apps: s.apps.describe() }));
      return apps as AppStates;
    } catch (err) {
      if (err instanceof CloudError) return [];
      throw err;
    }
  }

  /** Here when this process holds the session (or is not clustered), else on the owner. */
  private async route<T extends RequestType>(
    userId: string,
    type: T,
    payload: RequestOf<T>,
    local: (session: UserSession) => ResponseOf<T> | Promise<ResponseOf<T>>,
    timeoutMs?: number,
  ): Promise<ResponseOf<T>> {
    const session = this.registry.get(userId);
    if (session || !this.bus) return local(this.here(userId));
    return (await this.bus.toOwner(userId, type, payload, timeoutMs)).result;
  }

  private here(userId: string): UserSession {
    const session = this.registry.get(userId);
    if (!session) throw new CloudError('SESSION_NOT_FOUND', `No live session for ${userId}`);
    return session;
  }

  private localSummaries(): OwnedSummary[] {
    return this.registry.sessions().map((s) => this.summaryOf(s));
  }

  private summaryOf(session: UserSession): OwnedSummary {
    const summary: OwnedSummary = session.summary();
    if (this.bus) summary.ownerNode = this.bus.nodeId;
    return summary;
  }

  private async endHere(userId: string): Promise<{ ended: boolean }> {
    const session = this.here(userId);
    const glasses = session.ctx.glasses;
    const ended = await this.registry.end(userId, 'admin');
    if (glasses && glasses.readyState === 1) glasses.close(1000, 'Session ended by an operator');
    return { ended };
  }

  private deviceHere(userId: string, modelName: string, connected: boolean): OwnedSummary {
    const session = this.here(userId);
    session.device.applyState({ modelName, connected });
    return this.summaryOf(session);
  }
}
