import { Module } from '@nestjs/common';
import { AudioStreamDirectory } from './audio-stream-directory.js';

/** The process-wide directory, shared by the per-session managers and the HTTP route. */
@Module({ providers: [AudioStreamDirectory], exports: [AudioStreamDirectory] })
export class AudioStreamDirectoryModule {}
