import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  APP_TYPES,
  HARDWARE_TYPES,
  PERMISSION_TYPES,
  type AppRecord,
  type AppSettingSchemaEntry,
  type AppType,
  type HardwareLevel,
  type HardwareType,
  type PermissionType,
} from '../../persistence/persistence.types.js';

export const PACKAGE_NAME_PATTERN = /^(?!(?:constructor|prototype)$)[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;

export class PermissionDto {
  @ApiProperty({ enum: PERMISSION_TYPES })
  @IsIn(PERMISSION_TYPES)
  type!: PermissionType;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class HardwareRequirementDto {
  @ApiProperty({ enum: HARDWARE_TYPES })
  @IsIn(HARDWARE_TYPES)
  type!: HardwareType;

  @ApiProperty({ enum: ['REQUIRED', 'OPTIONAL'] })
  @IsIn(['REQUIRED', 'OPTIONAL'])
  level!: HardwareLevel;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class SettingSchemaEntryDto implements AppSettingSchemaEntry {
  [extra: string]: unknown;

  @ApiProperty({ example: 'toggle', description: 'toggle, text, select, slider, group, numeric_input, …' })
  @IsString()
  @MaxLength(64)
  type!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(/^[^$.]/, { message: 'key must not start with $ or .' })
  key?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  label?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  title?: string;

  @ApiPropertyOptional({ description: 'Any JSON value' })
  @IsOptional()
  defaultValue?: unknown;

  @ApiPropertyOptional({ description: 'Any JSON value (the shown value of a titleValue entry)' })
  @IsOptional()
  value?: unknown;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  options?: { label: string; value: unknown }[];

  @ApiPropertyOptional()
  @IsOptional()
  min?: number;

  @ApiPropertyOptional()
  @IsOptional()
  max?: number;

  @ApiPropertyOptional()
  @IsOptional()
  step?: number;

  @ApiPropertyOptional()
  @IsOptional()
  maxLines?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  placeholder?: string;

  @ApiPropertyOptional()
  @IsOptional()
  showSeconds?: boolean;
}

export class CreateAppDto {
  @ApiProperty({ example: 'com.example.notes' })
  @Matches(PACKAGE_NAME_PATTERN, {
    message: 'packageName must be 1-128 characters of letters, digits, ".", "_" or "-"',
  })
  packageName!: string;

  @ApiProperty({ example: 'Notes' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ example: 'http://localhost:7010', description: 'Base URL; the cloud POSTs {publicUrl}/webhook' })
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  @Matches(/^[^?#]*$/, { message: 'publicUrl must not have a query or fragment ({publicUrl}/webhook is called)' })
  publicUrl!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  webviewURL?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  logoURL?: string;

  @ApiPropertyOptional({ enum: APP_TYPES, default: 'background' })
  @IsOptional()
  @IsIn(APP_TYPES)
  appType?: AppType;

  @ApiPropertyOptional({ type: [PermissionDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => PermissionDto)
  permissions?: PermissionDto[];

  @ApiPropertyOptional({ type: [HardwareRequirementDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => HardwareRequirementDto)
  hardwareRequirements?: HardwareRequirementDto[];

  @ApiPropertyOptional({ type: [SettingSchemaEntryDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => SettingSchemaEntryDto)
  settings?: SettingSchemaEntryDto[];
}

export class UpdateAppDto extends PartialType(CreateAppDto) {}

/** An app as the admin API shows it: everything but the key hash. */
export class AppView {
  @ApiProperty() packageName!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty() publicUrl!: string;
  @ApiPropertyOptional() webviewURL?: string;
  @ApiPropertyOptional() logoURL?: string;
  @ApiProperty({ enum: APP_TYPES }) appType!: AppType;
  @ApiProperty({ type: [PermissionDto] }) permissions!: PermissionDto[];
  @ApiProperty({ type: [HardwareRequirementDto] }) hardwareRequirements!: HardwareRequirementDto[];
  @ApiProperty({ type: [SettingSchemaEntryDto] }) settings!: SettingSchemaEntryDto[];
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;

  static of(app: AppRecord): AppView {
    const { hashedApiKey: _hidden, ...rest } = app;
    return Object.assign(new AppView(), rest);
  }
}

export class CreatedAppView {
  @ApiProperty({ type: AppView }) app!: AppView;
  @ApiProperty({ description: 'Shown once; only its sha256 is stored' }) apiKey!: string;
}

export class PackageParams {
  @ApiProperty()
  @Matches(PACKAGE_NAME_PATTERN, { message: 'packageName is not a valid package name' })
  packageName!: string;
}
