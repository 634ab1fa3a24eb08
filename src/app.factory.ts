import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import { jsonDepthLimit } from './common/json-depth.js';
import type { AppConfig } from './config/config.types.js';
import { RealtimeWsAdapter } from './gateway/realtime-ws.adapter.js';
import { ClientAddress } from './limits/client-address.js';
import { JsonLogger } from './observability/json-logger.js';
import { MetricsService } from './observability/metrics.service.js';
import { requestIdMiddleware } from './observability/request-id.middleware.js';
import { SessionRegistry } from './session/session-registry.js';

/** Builds the whole service (HTTP, both gateways, Swagger) without listening: used by main.ts and tests. */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new JsonLogger({ level: config.logLevel, format: config.logFormat }),
    bodyParser: false,
  });
  app.use(requestIdMiddleware(app.get(MetricsService)));
  // Simple storage batches carry several 100,000-character values; everything else is small.
  app.useBodyParser('json', { limit: '2mb' });
  app.use(jsonDepthLimit(config.maxJsonBodyDepth));
  app.useBodyParser('urlencoded', { limit: '64kb', extended: false });
  app.disable('x-powered-by');
  // One decision about proxies for HTTP (req.ip) and WebSocket upgrades (ClientAddress): Express compiles it.
  app.set('trust proxy', config.trustProxy);
  app.get(ClientAddress).useTrust(app.getHttpAdapter().getInstance().get('trust proxy fn'));
  const wsAdapter = new RealtimeWsAdapter(app);
  app.useWebSocketAdapter(wsAdapter);
  // Graceful shutdown: no new upgrades, then every socket gets 1012 (Service Restart: clients reconnect)
  // within half the drain time, before the sessions are disposed (SessionRegistry.beforeApplicationShutdown).
  app.get(SessionRegistry).onShutdown(async () => {
    wsAdapter.beginShutdown();
    await wsAdapter.closeAll(1012, 'Service restart', Math.floor(config.shutdownDrainMs / 2));
  });
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('MentraOS open cloud — admin API')
      .setDescription(
        'Operate apps, users and live sessions. Every /api/admin route needs `Authorization: Bearer <ADMIN_API_KEY>`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
  app.enableShutdownHooks();
  return app;
}
