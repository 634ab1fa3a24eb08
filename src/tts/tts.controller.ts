import { BadRequestException, Controller, Get, Query, Res, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Response } from 'express';
import { TtsService } from './tts.service.js';

/** One value of a query parameter: a repeated parameter (an array) or an absurdly long one is a 400. */
function single(query: Record<string, unknown>, name: string, maxChars: number): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: `The query parameter "${name}" must be given once`,
    });
  // text has its own, clearer limit (413) in the service; this only bounds the others.
  if (value.length > maxChars)
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: `The query parameter "${name}" is too long`,
    });
  return value;
}

/**
 * `GET /api/tts` as `session.audio.speak()` builds it: the phone fetches it to play, so it is
 * public, and therefore rate limited per client IP (@nestjs/throttler, module-local options in TtsModule).
 */
@ApiTags('sdk: text to speech')
@UseGuards(ThrottlerGuard)
@Controller('api/tts')
export class TtsController {
  constructor(private readonly tts: TtsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Speech for a text, synthesized on this machine (espeak-ng by default); unauthenticated, rate limited per IP',
  })
  @ApiQuery({ name: 'text', required: true, description: 'What to say (at most 1,000 characters by default)' })
  @ApiQuery({
    name: 'voice_id',
    required: false,
    description: 'An espeak-ng language code such as en-us or de; anything else uses the default voice',
  })
  @ApiQuery({ name: 'model_id', required: false, description: 'Accepted for SDK compatibility and ignored' })
  @ApiQuery({ name: 'voice_settings', required: false, description: 'Accepted for SDK compatibility and ignored' })
  @ApiProduces('audio/wav')
  @ApiOkResponse({ description: 'The audio (audio/wav from espeak-ng)' })
  async speak(
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    const text = single(query, 'text', Number.MAX_SAFE_INTEGER);
    const voiceId = single(query, 'voice_id', 100);
    single(query, 'model_id', 100);
    single(query, 'voice_settings', 2_000);
    const audio = await this.tts.speak(text, voiceId);
    // Same text and voice → same audio: let the phone and any proxy keep it.
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.setHeader('X-TTS-Cache', audio.cached ? 'hit' : 'miss');
    return new StreamableFile(audio.data, { type: audio.contentType, length: audio.data.length });
  }
}
