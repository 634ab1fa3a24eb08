import { Body, Controller, ForbiddenException, HttpCode, Inject, Post, Query, Redirect } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { safeEqual } from '../../common/crypto.util.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.types.js';
import { IngestKeyRegistry } from './ingest-keys.js';

interface NginxCallback {
  name?: unknown;
  app?: unknown;
  addr?: unknown;
  call?: unknown;
}

const KEY = /^[0-9a-f]{32}$/;

/**
 * nginx-rtmp's `on_publish` / `on_publish_done` (form-encoded `app`, `name` = stream key, `addr`, `call`), for our
 * ingest only: its callback URLs carry `?secret=<INGEST_CALLBACK_SECRET>` (deploy/nginx), anything else gets 403
 * before a key is looked at, so knowing a stream's URLs is not enough to end it. A non-2xx, non-3xx answer makes
 * nginx refuse the publisher; a redirect renames the accepted stream to its playback name. Kept out of Swagger:
 * no client but the ingest calls these.
 */
@ApiExcludeController()
@Controller('api/streaming/nginx')
export class NginxCallbackController {
  private readonly secret: string | undefined;

  constructor(
    private readonly keys: IngestKeyRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.secret = config.streaming.managed?.callbackSecret;
  }

  private assertIngest(secret: unknown): void {
    if (!this.secret || typeof secret !== 'string' || !safeEqual(secret, this.secret))
      throw new ForbiddenException({ code: 'PERMISSION_DENIED', message: 'Only the configured ingest may call this' });
  }

  /** 302 `Location: <playbackName>`: nginx-rtmp publishes the stream under that name instead of the key. */
  @Post('on_publish')
  @Redirect()
  async onPublish(
    @Query('secret') secret: unknown,
    @Body() body: NginxCallback,
  ): Promise<{ url: string; statusCode: number }> {
    this.assertIngest(secret);
    const key = typeof body?.name === 'string' ? body.name : '';
    const playbackName = KEY.test(key) ? await this.keys.publish(key) : null;
    if (!playbackName)
      throw new ForbiddenException({ code: 'PERMISSION_DENIED', message: 'Unknown or used stream key' });
    return { url: playbackName, statusCode: 302 };
  }

  @Post('on_publish_done')
  @HttpCode(200)
  async onPublishDone(@Query('secret') secret: unknown, @Body() body: NginxCallback): Promise<string> {
    this.assertIngest(secret);
    const key = typeof body?.name === 'string' ? body.name : '';
    if (KEY.test(key)) await this.keys.publishDone(key);
    return 'ok';
  }
}
