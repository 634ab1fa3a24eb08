import { Module } from '@nestjs/common';
import { AudioStreamDirectoryModule } from './audio-stream-directory.module.js';
import { AudioStreamController } from './audio-stream.controller.js';

@Module({ imports: [AudioStreamDirectoryModule], controllers: [AudioStreamController] })
export class AudioStreamModule {}
