import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import {
  APP_TYPES,
  HARDWARE_TYPES,
  PERMISSION_TYPES,
  type AppRecord,
  type AppPreviewImage,
  type AppSettingSchemaEntry,
  type AppTool,
  type AppToolParameter,
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

export const TOOL_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const PARAMETER_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;
const PARAMETER_TYPES = new Set(['string', 'number', 'boolean']);

/** Why a tool's `parameters` map is not the SDK's `Record<string, ToolParameterSchema>`, or null when it is. */
export function toolParametersProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 50) return 'may have at most 50 parameters';
  for (const [name, raw] of entries) {
    if (!PARAMETER_NAME.test(name)) return `parameter name ${JSON.stringify(name.slice(0, 70))} is not an identifier`;
    const p = raw as Partial<AppToolParameter> & Record<string, unknown>;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return `${name} must be an object`;
    const extra = Object.keys(p).filter((k) => !['type', 'description', 'enum', 'required'].includes(k));
    if (extra.length > 0) return `${name} has unknown properties: ${extra.join(', ')}`;
    if (!PARAMETER_TYPES.has(p.type as string)) return `${name}.type must be string, number or boolean`;
    if (typeof p.description !== 'string' || p.description.length > 1000)
      return `${name}.description must be a string of at most 1000 characters`;
    if (
      p.enum !== undefined &&
      (!Array.isArray(p.enum) || p.enum.length > 100 || p.enum.some((e) => typeof e !== 'string' || e.length > 200))
    )
      return `${name}.enum must be at most 100 strings`;
    if (p.required !== undefined && typeof p.required !== 'boolean') return `${name}.required must be a boolean`;
  }
  return null;
}

function IsToolParameters(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isToolParameters',
      validator: {
        validate: (value) => toolParametersProblem(value) === null,
        defaultMessage: (args) => `parameters ${toolParametersProblem(args?.value) ?? 'are invalid'}`,
      },
    },
    options,
  );
}

/** One tool of an app_config.json, as the SDK's ToolSchema. */
export class ToolDto implements AppTool {
  @ApiProperty({ example: 'my_tool_name' })
  @Matches(TOOL_ID_PATTERN, { message: 'tool id must be 1-64 letters, digits, ".", "_" or "-"' })
  id!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(1000)
  description!: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  activationPhrases?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'name → {type: string|number|boolean, description, enum?, required?}',
  })
  @IsOptional()
  @IsToolParameters()
  parameters?: Record<string, AppToolParameter>;
}

export class PreviewImageDto implements AppPreviewImage {
  @ApiProperty()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ enum: ['landscape', 'portrait'] })
  @IsOptional()
  @IsIn(['landscape', 'portrait'])
  orientation?: 'landscape' | 'portrait';

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  order?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  imageId?: string;
}

/** An exported app_config.json writes `""` for an unset URL: that means absent, not a bad URL. */
const emptyToUndefined = ({ value }: { value: unknown }): unknown => (value === '' ? undefined : value);

/**
 * A registration: an app's `app_config.json` as its author publishes it (description, permissions, settings,
 * tools, hardwareRequirements, webviewURL, version…) plus the two things it does not hold, `packageName` and
 * `publicUrl`. `name` defaults to the package name.
 */
export class CreateAppDto {
  @ApiProperty({ example: 'com.example.notes' })
  @Matches(PACKAGE_NAME_PATTERN, {
    message: 'packageName must be 1-128 characters of letters, digits, ".", "_" or "-"',
  })
  packageName!: string;

  @ApiPropertyOptional({ example: 'Notes', description: 'Defaults to the package name' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name?: string;

  @ApiPropertyOptional({ example: '1.0.0' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  version?: string;

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
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  webviewURL?: string;

  @ApiPropertyOptional()
  @Transform(emptyToUndefined)
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

  @ApiPropertyOptional({ type: [ToolDto], description: 'What the SDK answers in onToolCall' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => ToolDto)
  tools?: ToolDto[];

  @ApiPropertyOptional({ type: [PreviewImageDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => PreviewImageDto)
  previewImages?: PreviewImageDto[];
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
  @ApiPropertyOptional({ type: [ToolDto] }) tools?: ToolDto[];
  @ApiPropertyOptional() version?: string;
  @ApiPropertyOptional({ type: [PreviewImageDto] }) previewImages?: PreviewImageDto[];
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
