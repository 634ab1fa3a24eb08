import {
  Body,
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Inject,
  Injectable,
  Param,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { Request } from 'express';
import { AdminGuard } from '../admin/admin.guard.js';
import { PackageParams } from '../admin/dto/app.dto.js';
import { USER_ID_PATTERN } from '../admin/dto/user.dto.js';
import { CoreTokenService } from '../auth/core-token.service.js';
import { normalizeUserId } from '../common/user-id.js';
import { CloudError } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import type { SessionSummary } from '../session/user-session.js';
import { resolveModel } from '../simulator/device-models.js';
import { SimulatorLinkService, type SimulatorLink } from './simulator-link.service.js';

export class CreateLinkDto {
  @ApiProperty({ example: 'dev@example.com' })
  @IsString()
  @MaxLength(320)
  @Matches(USER_ID_PATTERN, { message: 'userId is not a valid user id' })
  userId!: string;

  @ApiPropertyOptional({ example: 'g1', description: 'Model name or alias (see /api/simulator/meta)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  model?: string;

  @ApiPropertyOptional({ default: 3600, minimum: 60, maximum: 86400 })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(86_400)
  ttlSeconds?: number;
}

type LinkRequest = Request & { simulatorLink?: SimulatorLink };

/** `Authorization: Bearer <link token>` from a `/simulator#link=…` URL. */
@Injectable()
export class SimulatorLinkGuard implements CanActivate {
  constructor(private readonly links: SimulatorLinkService) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<LinkRequest>();
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '');
    const link = match ? this.links.verify(match[1]!.trim()) : null;
    if (!link)
      throw new UnauthorizedException({
        statusCode: 401,
        code: 'UNAUTHORIZED',
        message: 'This simulator link is invalid or has expired: ask for a new one (npm run sim prints one)',
      });
    req.simulatorLink = link;
    return true;
  }
}

export interface LinkAppsView {
  installed: Array<{ packageName: string; name: string; appType: string }>;
  session: SessionSummary | null;
}

/**
 * The web simulator's API when it was opened from a short-lived link instead of the admin key:
 * the same operations as the admin API, limited to the link's user.
 */
@ApiTags('simulator')
@Controller('api/simulator')
export class SimulatorLinkController {
  constructor(
    private readonly links: SimulatorLinkService,
    private readonly tokens: CoreTokenService,
    private readonly registry: SessionRegistry,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('links')
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'A short-lived link that opens /simulator for one user without the admin key' })
  @ApiCreatedResponse({ description: '{url, path, token, expiresAt}' })
  create(@Body() dto: CreateLinkDto): {
    url: string;
    path: string;
    token: string;
    expiresAt: string;
    userId: string;
    model: string;
  } {
    let model: string;
    try {
      model = resolveModel(dto.model ?? 'g1').name;
    } catch (err) {
      throw new CloudError('MALFORMED_MESSAGE', (err as Error).message);
    }
    const userId = normalizeUserId(dto.userId);
    const { token, expiresAt } = this.links.sign(userId, model, dto.ttlSeconds ?? 3600);
    const path = `/simulator#link=${token}`;
    return { url: `${this.config.publicUrl}${path}`, path, token, expiresAt: expiresAt.toISOString(), userId, model };
  }

  @Get('link')
  @UseGuards(SimulatorLinkGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'What a link grants: its user, model and expiry' })
  describe(@Req() req: LinkRequest): { userId: string; model: string; expiresAt: string } {
    const link = req.simulatorLink!;
    return { userId: link.userId, model: link.model, expiresAt: new Date(link.exp * 1000).toISOString() };
  }

  @Post('link/token')
  @UseGuards(SimulatorLinkGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "A core token for the link's user, good only for the /glasses-ws upgrade, for SIMULATOR_TOKEN_TTL_SECONDS (never past the link)",
  })
  async token(@Req() req: LinkRequest): Promise<{ coreToken: string; userId: string; expiresAt: string }> {
    const link = req.simulatorLink!;
    await this.users.findOrCreate(link.userId);
    const coreToken = this.links.coreToken(link);
    return { coreToken, userId: link.userId, expiresAt: this.tokens.expiresAt(coreToken).toISOString() };
  }

  @Get('link/apps')
  @UseGuards(SimulatorLinkGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "The link user's installed apps and live session" })
  async installed(@Req() req: LinkRequest): Promise<LinkAppsView> {
    const link = req.simulatorLink!;
    const user = await this.users.findById(link.userId);
    const installed: LinkAppsView['installed'] = [];
    for (const { packageName } of user?.installedApps ?? []) {
      const app = await this.apps.findByPackageName(packageName);
      if (app) installed.push({ packageName, name: app.name, appType: app.appType });
    }
    return { installed, session: this.registry.get(link.userId)?.summary() ?? null };
  }

  @Post('link/apps/:packageName/start')
  @UseGuards(SimulatorLinkGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "Start an installed app in the link user's live session (the failing stage on failure)" })
  async start(
    @Req() req: LinkRequest,
    @Param() params: PackageParams,
  ): Promise<{ ok: true; packageName: string; alreadyRunning: boolean }> {
    const session = this.sessionOf(req.simulatorLink!);
    const result = await session.apps.startApp(params.packageName);
    if (!result.ok)
      throw new CloudError(
        'START_FAILED',
        `Starting ${params.packageName} failed at ${result.stage}: ${result.message}`,
        { stage: result.stage },
      );
    return { ok: true, packageName: result.packageName, alreadyRunning: result.alreadyRunning ?? false };
  }

  @Post('link/apps/:packageName/stop')
  @UseGuards(SimulatorLinkGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "Stop an app in the link user's live session" })
  async stop(@Req() req: LinkRequest, @Param() params: PackageParams): Promise<{ ok: true; packageName: string }> {
    const link = req.simulatorLink!;
    const stopped = await this.sessionOf(link).apps.stopApp(params.packageName, 'user_disabled');
    if (!stopped) throw new CloudError('APP_NOT_RUNNING', `${params.packageName} is not running for ${link.userId}`);
    return { ok: true, packageName: params.packageName };
  }

  private sessionOf(link: SimulatorLink) {
    const session = this.registry.get(link.userId);
    if (!session)
      throw new CloudError('SESSION_NOT_FOUND', `No live session for ${link.userId}: connect the glasses first`);
    return session;
  }
}
