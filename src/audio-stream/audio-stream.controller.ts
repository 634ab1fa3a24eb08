import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import type { Response } from 'express';
import { CloudError } from '../common/cloud-error.js';
import { AudioStreamDirectory } from './audio-stream-directory.js';

export class AudioStreamParams {
  @ApiProperty({ description: 'The token of the streamUrl the app was given in audio_stream_ready' })
  @Matches(/^[A-Za-z0-9_-]{32}$/, { message: 'token is not a stream token' })
  token!: string;
}

/**
 * `GET /api/audio-streams/:token`: what the phone fetches when an SDK 3 app plays its output stream. The
 * unguessable token is the only credential, as for any audio URL handed to the phone's player.
 */
@ApiTags('media')
@Controller('api/audio-streams')
export class AudioStreamController {
  constructor(private readonly directory: AudioStreamDirectory) {}

  @Get(':token')
  @ApiOperation({ summary: "An app's output audio stream as chunked audio/mpeg, served while the app writes it" })
  @ApiProduces('audio/mpeg')
  @ApiOkResponse({ description: 'MP3 bytes until the app ends the stream' })
  play(@Param() { token }: AudioStreamParams, @Res() res: Response): void {
    const stream = this.directory.get(token);
    if (!stream) throw new CloudError('STREAM_NOT_FOUND', 'No such audio stream (it ended or never existed)');
    const outcome = stream.attach(res);
    if (outcome === 'ended') throw new CloudError('STREAM_NOT_FOUND', 'The audio stream has ended');
    if (outcome === 'busy') throw new CloudError('RATE_LIMITED', 'Too many players on this audio stream');
  }
}
