import { Body, Controller, Get, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { normalizeUserId } from '../common/user-id.js';
import { appSessionId } from '../common/app-session-id.js';
import { CloudError } from '../common/cloud-error.js';
import { SessionRegistry } from '../session/session-registry.js';
import { IncidentStore, type Incident } from '../telemetry/incident-store.js';
import { IncidentParams } from '../telemetry/telemetry.controller.js';
import { AdminGuard } from './admin.guard.js';
import { UserAppParams } from './dto/user.dto.js';
import { UnsafeKeysInterceptor } from './unsafe-keys.interceptor.js';

export class TelemetryRequestDto {
  @ApiPropertyOptional({ default: 300_000, description: 'How many milliseconds of recent logs the app should send' })
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(24 * 3_600_000)
  windowMs?: number;
}

@ApiTags('admin: sessions')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/admin')
export class AdminIncidentsController {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly incidents: IncidentStore,
  ) {}

  @Post('sessions/:userId/apps/:packageName/telemetry')
  @ApiOperation({
    summary: 'Ask a running SDK 3 app for its recent logs (request_telemetry); they arrive at /api/incidents/:id/logs',
  })
  @ApiCreatedResponse({ description: '{incidentId, expiresAt}' })
  request(
    @Param() params: UserAppParams,
    @Body() body: TelemetryRequestDto,
  ): { incidentId: string; expiresAt: string } {
    const userId = normalizeUserId(params.userId);
    const session = this.registry.get(userId);
    if (!session) throw new CloudError('SESSION_NOT_FOUND', `No live session for ${userId}`);
    if (!session.connections.isRunning(params.packageName))
      throw new CloudError('APP_NOT_RUNNING', `${params.packageName} is not running for ${userId}`);
    const windowMs = body.windowMs ?? 300_000;
    const { incident, uploadToken } = this.incidents.create(userId, params.packageName, windowMs);
    const sent = session.connections.sendJson(params.packageName, {
      type: 'request_telemetry',
      sessionId: appSessionId(userId, params.packageName),
      incidentId: incident.incidentId,
      uploadToken,
      windowMs,
      timestamp: new Date().toISOString(),
    });
    if (!sent) throw new CloudError('APP_NOT_RUNNING', `${params.packageName} has no open socket right now`);
    return { incidentId: incident.incidentId, expiresAt: incident.expiresAt };
  }

  @Get('incidents/:incidentId')
  @ApiOperation({ summary: 'A telemetry request and the logs the app uploaded (null uploadedAt: not yet)' })
  @ApiOkResponse({ description: 'The incident' })
  get(@Param() { incidentId }: IncidentParams): Incident {
    const incident = this.incidents.get(incidentId);
    if (!incident) throw new CloudError('INCIDENT_NOT_FOUND', `No incident ${incidentId} (kept: the last 100)`);
    return incident;
  }
}
