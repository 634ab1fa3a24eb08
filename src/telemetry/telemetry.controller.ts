import { Body, Controller, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsObject, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { CloudError } from '../common/cloud-error.js';
import { IncidentStore, type TelemetryLogEntry } from './incident-store.js';

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);
/** The SDK keeps its last 500 log lines; room for more, not for anything. */
export const MAX_LOG_ENTRIES = 5000;

export class IncidentParams {
  @ApiProperty()
  @IsUUID()
  incidentId!: string;
}

/** The SDK's TelemetryResponse. */
export class TelemetryUploadDto {
  @ApiProperty({ example: 'telemetry_response' })
  @IsIn(['telemetry_response'])
  type!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(64)
  incidentId!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(256)
  packageName!: string;

  @ApiProperty({ type: 'array', items: { type: 'object' }, description: '{timestamp, level, message, source?, data?}' })
  @IsArray()
  @ArrayMaxSize(MAX_LOG_ENTRIES)
  logs!: unknown[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  timestamp?: unknown;
}

function toEntry(raw: unknown, i: number): TelemetryLogEntry {
  const e = raw as Partial<TelemetryLogEntry> | null;
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw new Error(`logs[${i}] must be an object`);
  if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp))
    throw new Error(`logs[${i}].timestamp must be a number`);
  if (!LEVELS.has(e.level as string)) throw new Error(`logs[${i}].level must be debug, info, warn or error`);
  if (typeof e.message !== 'string') throw new Error(`logs[${i}].message must be a string`);
  return {
    timestamp: e.timestamp,
    level: e.level!,
    message: e.message.slice(0, 10_000),
    ...(typeof e.source === 'string' ? { source: e.source.slice(0, 256) } : {}),
    ...(e.data !== undefined ? { data: e.data } : {}),
  };
}

/**
 * `POST /api/incidents/:incidentId/logs`: where an SDK 3 app uploads its recent logs after `request_telemetry`,
 * authenticated by the upload token that request carried (nothing else).
 */
@ApiTags('apps')
@Controller('api/incidents')
export class TelemetryController {
  constructor(private readonly store: IncidentStore) {}

  @Post(':incidentId/logs')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: "An app's telemetry upload (SDK 3): Bearer <uploadToken from request_telemetry>" })
  @ApiOkResponse({ description: '{success: true, stored: <entries>}' })
  upload(
    @Param() { incidentId }: IncidentParams,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: TelemetryUploadDto,
  ): { success: true; stored: number } {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1] ?? '';
    if (body.incidentId !== incidentId) throw new CloudError('MALFORMED_MESSAGE', 'incidentId differs from the URL');
    let logs: TelemetryLogEntry[];
    try {
      logs = body.logs.map(toEntry);
    } catch (err) {
      throw new CloudError('MALFORMED_MESSAGE', (err as Error).message);
    }
    const outcome = this.store.upload(incidentId, token, body.packageName, logs, body.metadata ?? null);
    if (outcome === 'unauthorized')
      throw new CloudError('INVALID_TOKEN', 'Unknown incident, or the upload token is wrong, used or expired');
    if (outcome === 'wrong_app') throw new CloudError('PERMISSION_DENIED', 'This incident asked another app');
    return { success: true, stored: logs.length };
  }
}
