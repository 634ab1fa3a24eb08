import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

/** Asked by the phone app before it signs in, so no token. */
@ApiTags('client: phone app')
@Controller('api/client/min-version')
export class ClientVersionController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  @ApiOperation({
    summary:
      'The phone app versions this cloud wants (CLIENT_MIN_VERSION, CLIENT_RECOMMENDED_VERSION); no authentication',
  })
  @ApiOkResponse({ schema: { example: { success: true, data: { required: '0.0.0', recommended: '0.0.0' } } } })
  get(): { success: true; data: { required: string; recommended: string } } {
    return { success: true, data: { ...this.config.clientVersions } };
  }
}
