import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional } from 'class-validator';

export class AudioConfigureRequestDto {
  @ApiProperty({ enum: ['pcm', 'lc3'], description: 'What the phone will send on /glasses-ws' })
  @IsIn(['pcm', 'lc3'], { message: 'format must be "pcm" or "lc3"' })
  format!: 'pcm' | 'lc3';

  @ApiPropertyOptional({ example: { sampleRate: 16000, frameDurationMs: 10, frameSizeBytes: 20 } })
  @IsOptional()
  @IsObject()
  lc3Config?: Record<string, unknown>;
}

export class AudioConfigureResponseDto {
  @ApiProperty() success!: true;
  @ApiProperty({ enum: ['pcm'] }) format!: 'pcm';
  @ApiProperty() message!: string;
  @ApiProperty() timestamp!: string;
}

export class GoodbyeResponseDto {
  @ApiProperty() success!: true;
  @ApiProperty({
    example: { sessionEnded: true },
    description: 'sessionEnded: the session was ended now instead of after the grace period',
  })
  data!: { sessionEnded: boolean };
}

export class LivekitUnavailableDto {
  @ApiProperty({ example: 500 }) statusCode!: number;
  @ApiProperty({ example: 'LIVEKIT_UNAVAILABLE' }) code!: string;
  @ApiProperty({ example: false }) success!: false;
  @ApiProperty({ example: 'Failed to mint token' }) message!: string;
  @ApiProperty() timestamp!: string;
}
