import { Body, Controller, Get, HttpCode, Logger, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiInternalServerErrorResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CoreUser, CoreUserGuard } from '../auth/core-user.guard.js';
import { CloudError } from '../common/cloud-error.js';
import { SessionRegistry } from '../session/session-registry.js';
import {
  AudioConfigureRequestDto,
  AudioConfigureResponseDto,
  GoodbyeResponseDto,
  LivekitUnavailableDto,
} from './client-connection.dto.js';

/** Calls the phone app makes around its glasses socket (core token as Bearer, as upstream). */
@ApiTags('client: phone app')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'INVALID_TOKEN: no core token, or a bad one' })
@UseGuards(CoreUserGuard)
@Controller('api/client')
export class ClientConnectionController {
  private readonly logger = new Logger('ClientApi');

  constructor(private readonly registry: SessionRegistry) {}

  @Post('audio/configure')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The audio format the phone sends on /glasses-ws: this cloud takes PCM (16 kHz, 16-bit, mono) only',
  })
  @ApiOkResponse({ type: AudioConfigureResponseDto })
  @ApiConflictResponse({ description: 'UNSUPPORTED: lc3 (this cloud has no LC3 decoder; send PCM)' })
  configureAudio(@Body() body: AudioConfigureRequestDto): AudioConfigureResponseDto {
    // Saying yes to LC3 would have us read LC3 frames as PCM: transcription would get noise, apps garbage.
    if (body.format !== 'pcm') {
      throw new CloudError(
        'UNSUPPORTED',
        'This cloud takes PCM audio only (16 kHz, 16-bit, mono): it has no LC3 decoder',
        {
          format: body.format,
          supported: ['pcm'],
        },
      );
    }
    return {
      success: true,
      format: 'pcm',
      message: 'Audio format configured successfully',
      timestamp: new Date().toISOString(),
    };
  }

  @Post('goodbye')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The phone signs out or shuts down: a session whose glasses socket is already closed ends now instead of after GLASSES_GRACE_MS',
  })
  @ApiOkResponse({ type: GoodbyeResponseDto })
  async goodbye(@CoreUser() userId: string): Promise<GoodbyeResponseDto> {
    const session = this.registry.get(userId);
    // A socket still open (the goodbye overtook its close, or another device) keeps the session: the close
    // starts the grace period as usual.
    const sessionEnded =
      Boolean(session && !session.ctx.glassesOpen) && (await this.registry.end(userId, 'phone_goodbye'));
    if (sessionEnded) this.logger.log(`${userId} said goodbye: session ended`);
    return { success: true, data: { sessionEnded } };
  }

  @Get('livekit/token')
  @HttpCode(500)
  @ApiOperation({
    summary:
      'LiveKit token: this cloud has no LiveKit transport and answers as upstream does without LiveKit (500), so the phone keeps its audio on /glasses-ws',
  })
  @ApiInternalServerErrorResponse({ type: LivekitUnavailableDto })
  livekitToken(): LivekitUnavailableDto {
    return {
      statusCode: 500,
      code: 'LIVEKIT_UNAVAILABLE',
      success: false,
      message: 'Failed to mint token',
      timestamp: new Date().toISOString(),
    };
  }
}
