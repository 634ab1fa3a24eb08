import { Module } from '@nestjs/common';
import { ToolCallService } from './tool-call.service.js';

@Module({ providers: [ToolCallService], exports: [ToolCallService] })
export class ToolsModule {}
