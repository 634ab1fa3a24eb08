import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { ConfigError } from './config/app-config.js';
import { DataDirError } from './config/data-dir.js';
import { loadConfig } from './config/load-config.js';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(
      err instanceof ConfigError || err instanceof DataDirError
        ? err.message
        : `Invalid configuration: ${(err as Error).message}`,
    );
    process.exit(1);
  }
  const app = await createApp(config);
  // Nest's shutdown hooks run the graceful close on these signals; this bounds it (once: Nest re-raises the signal).
  const drainMs = config.shutdownDrainMs;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        console.error(`shutdown did not finish within SHUTDOWN_DRAIN_MS (${drainMs} ms); exiting`);
        process.exit(1);
      }, drainMs).unref();
    });
  }
  await app.listen(config.port, config.host);
  const logger = new Logger('Bootstrap');
  logger.log(
    `MentraOS open cloud listening on ${config.host}:${config.port} (store: ${{ mongo: 'MongoDB', redis: 'Redis', embedded: `embedded in ${config.dataDir}` }[config.store]}${config.cluster ? ', cluster mode' : ''})`,
  );
  logger.log(
    `glasses: ${config.publicUrl.replace(/^http/, 'ws')}/glasses-ws  apps: ${config.appWsUrl}  admin docs: ${config.publicUrl}/api/docs`,
  );
  // Printed once, when generated: a log that keeps every boot must not repeat the key each time.
  if (config.adminKeyGenerated)
    logger.log(`admin API key (generated, kept in ${config.dataDir}/secrets.json): ${config.adminApiKey}`);
  else if (config.adminKeyFromDataDir)
    logger.log(`admin API key: the one generated at first boot, read from ${config.dataDir}/secrets.json`);
}

void bootstrap();
