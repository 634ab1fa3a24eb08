import { Module } from '@nestjs/common';
import { NginxCallbackController } from './managed/nginx-callback.controller.js';
import { StreamingModule } from './streaming.module.js';

/** The HTTP side of managed streaming: the ingest server's publish callbacks. */
@Module({ imports: [StreamingModule], controllers: [NginxCallbackController] })
export class IngestCallbacksModule {}
