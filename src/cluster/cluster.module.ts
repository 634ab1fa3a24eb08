import {
  Global,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { AppConfig } from '../config/config.types.js';
import { ClusterBus } from './cluster-bus.js';
import { LimiterFactory, MemoryLimiterFactory, RedisLimiterFactory } from './limiter.js';
import { NodeIdentity } from './node-identity.js';
import { NodeRegistry } from './node-registry.js';
import { openRedisLink, RedisLink } from './redis-link.js';
import { UserLeases } from './user-leases.js';

/** REDIS_URL is the store's setting (persistence); cluster mode is on exactly when it is set. */
export function clusterRedisUrl(config: AppConfig): string | undefined {
  return config.cluster ? config.redisUrl : undefined;
}

/** Starts the timers and the bus once everything is built; on shutdown leaves the cluster after the sessions drained. */
@Injectable()
class ClusterLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly link: RedisLink,
    private readonly leases: UserLeases,
    private readonly nodes: NodeRegistry,
    private readonly bus: ClusterBus,
    @Inject(NodeIdentity) private readonly node: NodeIdentity,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.bus.handle('ping', ({ sentAt }) => ({ nodeId: this.node.nodeId, sentAt }));
    this.bus.handle('node.info', () => this.nodes.self());
    await this.bus.start();
    this.leases.start();
    await this.nodes.start();
  }

  beforeApplicationShutdown(): void {
    this.nodes.markDraining();
  }

  /** After SessionRegistry's drain (beforeApplicationShutdown): the users are gone, their leases can go. */
  async onApplicationShutdown(): Promise<void> {
    this.leases.stop();
    this.bus.stop();
    await this.leases.releaseAll();
    await this.nodes.deregister();
    await this.link.close();
  }
}

/**
 * Cluster mode: user leases, node presence, the cross-process bus and shared limiters, on Redis. Without
 * REDIS_URL it provides only the in-memory LimiterFactory: no connection, no timer, ioredis never loaded.
 * Consumers inject UserLeases / NodeRegistry / ClusterBus with @Optional() (absent in single-process mode) and
 * LimiterFactory always.
 */
@Global()
@Module({})
export class ClusterModule {
  static forRoot(config: AppConfig): DynamicModule {
    const url = clusterRedisUrl(config);
    if (!url) {
      return {
        module: ClusterModule,
        providers: [{ provide: LimiterFactory, useClass: MemoryLimiterFactory }],
        exports: [LimiterFactory],
      };
    }
    return {
      module: ClusterModule,
      providers: [
        { provide: NodeIdentity, useValue: NodeIdentity.fromConfig(config) },
        {
          provide: RedisLink,
          useFactory: (node: NodeIdentity) => openRedisLink(url, node.nodeId),
          inject: [NodeIdentity],
        },
        {
          provide: UserLeases,
          useFactory: (link: RedisLink, node: NodeIdentity) => new UserLeases(link, node, config.clusterOptions),
          inject: [RedisLink, NodeIdentity],
        },
        {
          provide: NodeRegistry,
          useFactory: (link: RedisLink, node: NodeIdentity, leases: UserLeases) =>
            new NodeRegistry(link, node, leases, config.clusterOptions),
          inject: [RedisLink, NodeIdentity, UserLeases],
        },
        {
          provide: ClusterBus,
          useFactory: (link: RedisLink, node: NodeIdentity, leases: UserLeases, nodes: NodeRegistry) =>
            new ClusterBus(link, node, leases, nodes, config.clusterOptions),
          inject: [RedisLink, NodeIdentity, UserLeases, NodeRegistry],
        },
        {
          provide: LimiterFactory,
          useFactory: (link: RedisLink) => new RedisLimiterFactory(link.commands),
          inject: [RedisLink],
        },
        ClusterLifecycle,
      ],
      exports: [NodeIdentity, RedisLink, UserLeases, NodeRegistry, ClusterBus, LimiterFactory],
    };
  }
}
