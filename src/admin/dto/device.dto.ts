import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class DeviceStateDto {
  @ApiProperty({
    example: 'Mentra Live',
    description: 'A model name; unknown models get the documented fallback profile',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  modelName!: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  connected?: boolean;
}
