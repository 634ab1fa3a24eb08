import { RequestId } from '../common/request-id.js';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Res,
  StreamableFile,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { wavHeader } from '../audio/recent-audio.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { normalizeUserId } from '../common/user-id.js';
import { CloudError } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import type { UserSession } from '../session/user-session.js';
import { SessionCalls, type OwnedSummary } from '../session-calls/session-calls.service.js';
import { AdminGuard } from './admin.guard.js';
import { UnsafeKeysInterceptor } from './unsafe-keys.interceptor.js';
import { DeviceStateDto } from './dto/device.dto.js';
import { SessionListQuery } from './dto/session-list.dto.js';
import { UserAppParams, UserParams } from './dto/user.dto.js';

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

@ApiTags('admin: sessions')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/admin')
export class AdminSessionsController {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly calls: SessionCalls,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('sessions')
  @ApiOperation({
    summary:
      'Every live user session. Clustered: the sessions of every process, each with `ownerNode` (the process holding it); the header X-Cluster-Incomplete names the processes that did not answer (`redis` while Redis is away: then only this process is listed)',
  })
  @ApiOkResponse({
    description: 'Session summaries',
    headers: {
      'X-Cluster-Incomplete': {
        description:
          'Clustered: the processes that did not answer, comma-separated (`redis`: the cluster is unreachable)',
        schema: { type: 'string' },
      },
    },
  })
  async list(@Query() query: SessionListQuery, @Res({ passthrough: true }) res: Response): Promise<OwnedSummary[]> {
    const { sessions, missing } = await this.calls.list(query.scope ?? 'cluster');
    if (missing.length > 0) res.setHeader('X-Cluster-Incomplete', missing.join(','));
    return sessions;
  }

  @Get('sessions/:userId')
  @ApiOperation({
    summary:
      'One session: apps, subscriptions per app, model and capabilities, microphone, display decisions (clustered: from the process holding it, with `ownerNode`)',
  })
  get(@Param() params: UserParams): Promise<OwnedSummary> {
    return this.calls.summary(normalizeUserId(params.userId));
  }

  @Delete('sessions/:userId')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'End a session now: apps are stopped for the session, the glasses socket is closed (clustered: by the process holding it)',
  })
  async end(@Param() params: UserParams): Promise<void> {
    await this.calls.endSession(normalizeUserId(params.userId));
  }

  @Post('sessions/:userId/apps/:packageName/start')
  @ApiOperation({
    summary:
      'Start an app in a live session and wait for the outcome (the failing stage on failure); clustered, the process holding the session starts it',
  })
  async start(
    @Param() params: UserAppParams,
    @RequestId() reqId: string | undefined,
  ): Promise<{ ok: true; packageName: string; alreadyRunning: boolean }> {
    const result = await this.calls.startApp(normalizeUserId(params.userId), params.packageName, reqId);
    if (!result.ok)
      throw new CloudError(
        'START_FAILED',
        `Starting ${params.packageName} failed at ${result.stage}: ${result.message}`,
        { stage: result.stage },
      );
    return { ok: true, packageName: result.packageName, alreadyRunning: result.alreadyRunning ?? false };
  }

  @Post('sessions/:userId/apps/:packageName/stop')
  @ApiOperation({ summary: 'Stop an app in a live session (clustered: by the process holding it)' })
  async stop(@Param() params: UserAppParams): Promise<{ ok: true; packageName: string }> {
    const stopped = await this.calls.stopApp(normalizeUserId(params.userId), params.packageName);
    if (!stopped) throw new CloudError('APP_NOT_RUNNING', `${params.packageName} is not running for ${params.userId}`);
    return { ok: true, packageName: params.packageName };
  }

  @Put('sessions/:userId/device')
  @ApiOperation({
    summary:
      'Set the glasses model (and connection) of a live session, as glasses_connection_state would: apps get capabilities_update, incompatible apps stop (clustered: on the process holding it)',
  })
  device(@Param() params: UserParams, @Body() dto: DeviceStateDto): Promise<OwnedSummary> {
    return this.calls.setDevice(normalizeUserId(params.userId), dto.modelName, dto.connected ?? true);
  }

  @Get('sessions/:userId/audio/recent')
  @ApiOperation({
    summary:
      "The last seconds of the session's audio as a WAV file (PCM s16le, 16 kHz, mono); 409 UNSUPPORTED while RECENT_AUDIO_SECONDS is 0 (the default)",
  })
  @ApiProduces('audio/wav')
  @Header('Content-Type', 'audio/wav')
  recentAudio(@Param() params: UserParams): StreamableFile {
    if (this.config.recentAudioSeconds <= 0)
      throw new CloudError(
        'UNSUPPORTED',
        'Recent audio is off on this cloud: set RECENT_AUDIO_SECONDS (1–60) to keep it',
      );
    const pcm = this.session(params.userId).audio.recentAudio();
    return new StreamableFile(Buffer.concat([wavHeader(pcm.length), pcm]));
  }

  @Get('runtime')
  @ApiOperation({
    summary: 'Process figures for operators and the benchmark (gc=1 collects first when --expose-gc is on)',
  })
  @ApiQuery({ name: 'gc', required: false })
  runtime(@Query('gc') gc?: string): Record<string, number> {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (gc === '1' && collect) {
      collect();
      collect();
    }
    const mem = process.memoryUsage();
    let glassesSockets = 0;
    let appSockets = 0;
    let providerStreams = 0;
    for (const s of this.registry.sessions()) {
      if (s.ctx.glassesOpen) glassesSockets++;
      for (const rt of s.connections.values()) if (rt.ws?.readyState === 1) appSockets++;
      providerStreams += s.transcription.streamCount;
    }
    const p99 = loopDelay.percentile(99) / 1e6;
    const max = loopDelay.max / 1e6;
    loopDelay.reset();
    return {
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      rss: mem.rss,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      sessions: this.registry.size,
      glassesSockets,
      appSockets,
      eventLoopDelayP99Ms: Number.isFinite(p99) ? p99 : 0,
      eventLoopDelayMaxMs: Number.isFinite(max) ? max : 0,
      providerStreams,
      // Live timers and intervals of the whole process (leak checks compare this before and after a soak).
      timers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
      uptimeSeconds: process.uptime(),
    };
  }

  private session(userId: string): UserSession {
    const session = this.registry.get(normalizeUserId(userId));
    if (!session) throw new CloudError('SESSION_NOT_FOUND', `No live session for ${userId}`);
    return session;
  }
}
