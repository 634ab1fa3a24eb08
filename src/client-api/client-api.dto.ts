import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';

/*
 * Bodies the MentraOS phone app sends. The ones marked "loose" are checked with `checkLoose` (client-input.ts):
 * their declared fields are validated, anything else the phone adds (it forwards whole Expo objects and its
 * glasses store) is ignored rather than refused.
 */

const FINITE = { allowNaN: false, allowInfinity: false } as const;

export class PackageParams {
  @ApiProperty({ example: 'com.example.notes' })
  @Matches(PACKAGE_NAME_PATTERN, { message: 'packageName is not a valid package name' })
  packageName!: string;
}

export class CorrelationParams {
  @ApiProperty({ example: 'poll-1' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  correlationId!: string;
}

export class UserSettingsBody {
  @ApiProperty({
    description:
      'snake_case keys as the phone stores them (metric_system, contextual_dashboard, head_up_angle, brightness, auto_brightness, sensing_enabled, always_on_status_bar, bypass_vad, preferred_mic, default_wearable, timezone, …); null removes a key',
    example: { metric_system: true, brightness: 70, default_wearable: 'Even Realities G1', timezone: 'Europe/Berlin' },
  })
  @IsObject()
  settings!: Record<string, unknown>;
}

/** Loose: the phone posts whatever changed in its glasses store; the fields below are the ones used. */
export class DeviceStateBody {
  @ApiPropertyOptional({ description: 'Inferred from modelName when absent' })
  @IsOptional()
  @IsBoolean()
  connected?: boolean | null;

  @ApiPropertyOptional({ example: 'Even Realities G1', nullable: true, description: 'null: no glasses' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  modelName?: string | null;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() wifiConnected?: boolean | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(64) wifiSsid?: string | null;

  @ApiPropertyOptional({ description: '0–100; a negative level means unknown and is ignored' })
  @IsOptional()
  @IsNumber(FINITE)
  @Min(-1)
  @Max(100)
  batteryLevel?: number | null;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() charging?: boolean | null;
}

export class CoordsBody {
  @ApiProperty() @IsNumber(FINITE) @Min(-90) @Max(90) latitude!: number;
  @ApiProperty() @IsNumber(FINITE) @Min(-180) @Max(180) longitude!: number;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsNumber(FINITE) @Min(0) accuracy?: number | null;
}

export class LocationPointBody {
  @ApiPropertyOptional() @IsOptional() @IsNumber(FINITE) @Min(-90) @Max(90) lat?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber(FINITE) @Min(-180) @Max(180) lng?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber(FINITE) @Min(-90) @Max(90) latitude?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber(FINITE) @Min(-180) @Max(180) longitude?: number;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsNumber(FINITE) @Min(0) accuracy?: number | null;

  @ApiPropertyOptional({ type: CoordsBody })
  @IsOptional()
  @ValidateNested()
  @Type(() => CoordsBody)
  coords?: CoordsBody;
}

/** Loose: `{location: {lat, lng, accuracy?}}`, `{location: {coords: {…}}}` or an Expo LocationObject (`{coords, timestamp}`). */
export class LocationBody {
  @ApiPropertyOptional({ type: LocationPointBody })
  @IsOptional()
  @ValidateNested()
  @Type(() => LocationPointBody)
  location?: LocationPointBody;

  @ApiPropertyOptional({ type: CoordsBody })
  @IsOptional()
  @ValidateNested()
  @Type(() => CoordsBody)
  coords?: CoordsBody;
}

/** Loose: an Expo Calendar event; the fields below are the ones used (`id`/`eventId`, `title` and a start are required). */
export class CalendarEventBody {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(512) id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(512) eventId?: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(1000) title!: string;
  @ApiPropertyOptional({ description: 'ISO date or epoch ms' }) @IsOptional() startDate?: string | number;
  @ApiPropertyOptional() @IsOptional() dtStart?: string | number;
  @ApiPropertyOptional() @IsOptional() endDate?: string | number;
  @ApiPropertyOptional() @IsOptional() dtEnd?: string | number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) timeZone?: string | null;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) timezone?: string | null;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() allDay?: boolean;
}

export const MAX_CALENDAR_EVENTS = 1000;

/** Loose: `{events: ExpoCalendarEvent[], calendars?}`; events that do not pass CalendarEventBody are skipped and counted. */
export class CalendarBody {
  @ApiProperty({ type: [CalendarEventBody] })
  @IsArray()
  @ArrayMaxSize(MAX_CALENDAR_EVENTS)
  events!: unknown[];
}

export class PhoneNotificationBody {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(512) notificationId!: string;
  @ApiProperty({ example: 'Messages' }) @IsString() @MinLength(1) @MaxLength(256) app!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(1000) title!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(10_000) content!: string;

  @ApiPropertyOptional({ enum: ['low', 'normal', 'high'] })
  @IsOptional()
  @IsIn(['low', 'normal', 'high'])
  priority?: 'low' | 'normal' | 'high';

  @ApiPropertyOptional({ description: 'epoch ms' }) @IsOptional() @IsNumber(FINITE) timestamp?: number;
  @ApiPropertyOptional({ description: "the phone app's package" })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  packageName?: string;
}

export class NotificationDismissedBody {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(512) notificationId!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(512) notificationKey!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(256) packageName!: string;
}

// ---------------------------------------------------------------- responses (Swagger)

export class HomeScreenAppView {
  @ApiProperty() packageName!: string;
  @ApiProperty() name!: string;
  @ApiProperty() webviewUrl!: string;
  @ApiProperty() logoUrl!: string;
  @ApiProperty({ enum: ['standard', 'background', 'system_dashboard'] }) type!: string;
  @ApiProperty({ type: 'array', items: { type: 'object' } }) permissions!: unknown[];
  @ApiProperty({ description: 'running (or reconnecting) in the live session' }) running!: boolean;
  @ApiProperty({ description: 'started, not connected yet' }) loading!: boolean;
  @ApiProperty({ description: 'false when its last start failed reaching it (WEBHOOK or TIMEOUT)' }) healthy!: boolean;
  @ApiProperty({ type: 'array', items: { type: 'object' } }) hardwareRequirements!: unknown[];
  @ApiPropertyOptional() installedDate?: string;
}

export class HomeScreenView {
  @ApiProperty() success!: true;
  @ApiProperty({ type: [HomeScreenAppView] }) data!: HomeScreenAppView[];
  @ApiProperty() timestamp!: string;
}

export class UserSettingsView {
  @ApiProperty() success!: true;
  @ApiProperty({ example: { settings: { metric_system: true, default_wearable: 'Even Realities G1' } } })
  data!: { settings: Record<string, unknown> };
  @ApiProperty() timestamp!: string;
}

export class AppStartView {
  @ApiProperty() success!: true;
  @ApiProperty({ example: { status: 'started', packageName: 'com.example.notes', alreadyRunning: false } })
  data!: { status: 'started' | 'stopped'; packageName: string; alreadyRunning?: boolean; wasRunning?: boolean };
}

export class SuccessView {
  @ApiProperty() success!: true;
  @ApiProperty() timestamp!: string;
}
