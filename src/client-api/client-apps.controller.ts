import { RequestId } from '../common/request-id.js';
import { Controller, Get, HttpCode, Inject, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UnsafeKeysInterceptor } from '../admin/unsafe-keys.interceptor.js';
import { CoreUser, CoreUserGuard } from '../auth/core-user.guard.js';
import { CloudError } from '../common/cloud-error.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { SessionCalls } from '../session-calls/session-calls.service.js';
import { AppStartView, HomeScreenView, PackageParams, type HomeScreenAppView } from './client-api.dto.js';
import { noActiveSession } from './client-session.js';

const RUNNING_STATES = new Set(['running', 'grace', 'dormant']);
/** A last start that failed at these stages never reached a working app server. */
const UNHEALTHY_STAGES = new Set(['WEBHOOK', 'TIMEOUT']);

/** The phone app's home screen: the installed apps with their live state, and starting and stopping them. */
@ApiTags('client: phone app')
@ApiBearerAuth()
@UseGuards(CoreUserGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller()
export class ClientAppsController {
  constructor(
    private readonly calls: SessionCalls,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
  ) {}

  @Get('api/client/apps')
  @ApiOperation({
    summary:
      "The home screen list: the user's installed apps, each with running / loading (live session) and healthy (its last start reached the app server)",
  })
  @ApiOkResponse({ type: HomeScreenView })
  async list(@CoreUser() userId: string): Promise<HomeScreenView> {
    const user = await this.users.findById(userId);
    const installed = user?.installedApps ?? [];
    const records = await Promise.all(installed.map((i) => this.apps.findByPackageName(i.packageName)));
    const live = new Map((await this.calls.appStates(userId)).map((d) => [d.packageName, d]));
    const data: HomeScreenAppView[] = [];
    installed.forEach((entry, i) => {
      const app = records[i];
      if (!app) return; // deleted since it was installed
      const state = live.get(app.packageName);
      const lastStart = state?.lastStart;
      data.push({
        packageName: app.packageName,
        name: app.name,
        webviewUrl: app.webviewURL ?? '',
        logoUrl: app.logoURL ?? '',
        type: app.appType,
        permissions: app.permissions,
        running: state !== undefined && RUNNING_STATES.has(state.state),
        loading: state?.state === 'loading',
        healthy: !(lastStart && !lastStart.ok && lastStart.stage && UNHEALTHY_STAGES.has(lastStart.stage)),
        hardwareRequirements: app.hardwareRequirements,
        installedDate: new Date(entry.installedDate).toISOString(),
      });
    });
    return { success: true, data, timestamp: new Date().toISOString() };
  }

  @Post('apps/:packageName/start')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Start an installed app in the live session (clustered: on the process holding it), as the socket's start_app: answers once it connected, or with the failing stage (details.stage: LOOKUP 404, HARDWARE_CHECK / LIMIT 409, WEBHOOK 502, TIMEOUT 504); 503 NO_ACTIVE_SESSION without a glasses socket",
  })
  @ApiOkResponse({ type: AppStartView })
  async start(
    @CoreUser() userId: string,
    @Param() params: PackageParams,
    @RequestId() reqId: string | undefined,
  ): Promise<AppStartView> {
    const result = await this.onSession(userId, () => this.calls.startApp(userId, params.packageName, reqId));
    if (!result.ok)
      throw new CloudError(
        'START_FAILED',
        `Starting ${params.packageName} failed at ${result.stage}: ${result.message}`,
        {
          packageName: params.packageName,
          stage: result.stage,
        },
      );
    return {
      success: true,
      data: { status: 'started', packageName: result.packageName, alreadyRunning: result.alreadyRunning ?? false },
    };
  }

  @Post('apps/:packageName/stop')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Stop an app in the live session (clustered: on the process holding it), as the socket's stop_app (wasRunning:false when it was not running); 404 for an unknown app",
  })
  @ApiOkResponse({ type: AppStartView })
  async stop(@CoreUser() userId: string, @Param() params: PackageParams): Promise<AppStartView> {
    const wasRunning = await this.onSession(userId, () => this.calls.stopApp(userId, params.packageName));
    // An app that does not exist cannot have been running: checked after, so no session still answers 503 first.
    if (!wasRunning && !(await this.apps.findByPackageName(params.packageName)))
      throw new CloudError('APP_NOT_FOUND', `App ${params.packageName} does not exist`);
    return { success: true, data: { status: 'stopped', packageName: params.packageName, wasRunning } };
  }

  /** Runs a call on the user's live session wherever it is (SessionCalls); no session anywhere is the phone's 503. */
  private async onSession<T>(userId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof CloudError && err.code === 'SESSION_NOT_FOUND') throw noActiveSession(userId);
      throw err;
    }
  }
}
