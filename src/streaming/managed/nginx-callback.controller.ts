import { Body, Controller, ForbiddenException, HttpCode, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IngestKeyRegistry } from './ingest-keys.js';

interface NginxCallback {
  name?: unknown;
  app?: unknown;
  addr?: unknown;
  call?: unknown;
}

/**
 * nginx-rtmp's `on_publish` / `on_publish_done` (form-encoded `app`, `name` = stream key, `addr`, `call`).
 * A non-2xx answer makes nginx refuse the publisher. The random single-use key is the credential.
 */
@ApiExcludeController()
@Controller('api/streaming/nginx')
export class NginxCallbackController {
  constructor(private readonly keys: IngestKeyRegistry) {}

  @Post('on_publish')
  @HttpCode(200)
  onPublish(@Body() body: NginxCallback): string {
    const key = typeof body?.name === 'string' ? body.name : '';
    if (!/^[0-9a-f]{32}$/.test(key) || !this.keys.publish(key))
      throw new ForbiddenException({ code: 'PERMISSION_DENIED', message: 'Unknown or used stream key' });
    return 'ok';
  }

  @Post('on_publish_done')
  @HttpCode(200)
  onPublishDone(@Body() body: NginxCallback): string {
    const key = typeof body?.name === 'string' ? body.name : '';
    if (/^[0-9a-f]{32}$/.test(key)) this.keys.publishDone(key);
    return 'ok';
  }
}
