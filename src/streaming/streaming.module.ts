import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { DeviceModule } from '../device/device.module.js';
import { RelayModule } from '../relay/relay.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { IngestKeyRegistry } from './managed/ingest-keys.js';
import { ManagedStreamingManager } from './managed-streaming-manager.js';
import { VideoManager } from './video-manager.js';

/** Per-session VideoManager and ManagedStreamingManager; the ingest key registry is shared by all sessions. */
@Module({
  imports: [SessionCoreModule, AppConnectionsModule, DeviceModule, RelayModule],
  providers: [VideoManager, ManagedStreamingManager, IngestKeyRegistry],
  exports: [VideoManager, ManagedStreamingManager, IngestKeyRegistry],
})
export class StreamingModule {}
