import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SessionRegistry } from '../session/session-registry.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly registry: SessionRegistry) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: never touches the store' })
  @ApiOkResponse({ description: '{status:"ok", sessions, uptime}' })
  health(): { status: 'ok'; sessions: number; uptime: number; timestamp: string } {
    return { status: 'ok', sessions: this.registry.size, uptime: process.uptime(), timestamp: new Date().toISOString() };
  }
}
