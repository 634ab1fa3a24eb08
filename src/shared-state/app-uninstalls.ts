import { Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { errorMessage } from '../common/cloud-error.js';
import { SessionRegistry } from '../session/session-registry.js';
import { ClusterBus } from '../cluster/cluster-bus.js';

/**
 * Stops an uninstalled (or deleted) app wherever it runs: here at once, and, clustered, on every other process
 * through the `app.uninstalled` broadcast, each stopping it in the sessions it holds.
 */
@Injectable()
export class AppUninstalls implements OnModuleInit {
  private readonly logger = new Logger('AppUninstalls');

  constructor(
    private readonly registry: SessionRegistry,
    @Optional() private readonly bus?: ClusterBus,
  ) {}

  onModuleInit(): void {
    this.bus?.on('app.uninstalled', ({ packageName, userId }, from) => {
      if (from !== this.bus?.nodeId) void this.stopHere(packageName, userId);
    });
  }

  /** `userId` null: the app was deleted, it stops in every session. */
  async stop(packageName: string, userId: string | null): Promise<void> {
    await this.stopHere(packageName, userId);
    await this.bus
      ?.broadcast('app.uninstalled', { packageName, userId })
      .catch((err: unknown) =>
        this.logger.warn(`other processes were not told to stop ${packageName}: ${errorMessage(err)}`),
      );
  }

  private async stopHere(packageName: string, userId: string | null): Promise<void> {
    const sessions = userId === null ? this.registry.sessions() : [this.registry.get(userId)].filter((s) => !!s);
    const reason = userId === null ? 'system_stop' : 'user_disabled';
    await Promise.allSettled(sessions.map((s) => s.apps.stopApp(packageName, reason)));
  }
}
