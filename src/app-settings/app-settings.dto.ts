import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, ArrayMaxSize, IsArray, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';

export class SettingValueDto {
  @ApiProperty({ example: 'enabled' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  key!: string;

  /** Any JSON value (presence is checked by the service: `undefined` cannot be stored). */
  @ApiProperty({ description: 'Any JSON value', example: true })
  @Allow()
  value!: unknown;
}

export class UpdateUserAppSettingsDto {
  @ApiProperty({ type: [SettingValueDto] })
  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => SettingValueDto)
  settings!: SettingValueDto[];
}

export class MergedSettingView {
  @ApiProperty() key!: string;
  @ApiPropertyOptional({ description: "The user's value, else the schema default" }) value?: unknown;
  @ApiProperty({ description: 'Schema type (toggle, select, …); every other schema field is included too' })
  type!: string;
}

export class UserAppSettingsView {
  @ApiProperty() userId!: string;
  @ApiProperty() packageName!: string;
  @ApiProperty({ type: [MergedSettingView] }) settings!: MergedSettingView[];
  @ApiProperty({ description: 'Whether a running app received settings_update over its socket' }) delivered!: boolean;
}
