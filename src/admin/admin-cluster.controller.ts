import { Controller, Get, Inject, Optional, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { hostname } from 'node:os';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { NodeRegistry, type NodeHealth, type NodeInfo } from '../cluster/node-registry.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { AdminGuard } from './admin.guard.js';

export class ClusterNodeView implements NodeInfo {
  @ApiProperty() nodeId!: string;
  @ApiProperty() pid!: number;
  @ApiProperty({ description: 'Where the process is reached (CLUSTER_NODE_ADDRESS or http://<host>:<port>)' })
  address!: string;
  @ApiProperty({ description: 'Live sessions on the process' }) sessions!: number;
  @ApiProperty({ description: 'User leases the process holds' }) leaseCount!: number;
  @ApiProperty({ enum: ['ok', 'degraded', 'draining'] }) health!: NodeHealth;
  @ApiProperty() startedAt!: string;
  @ApiProperty({ description: 'When the entry was written (its heartbeat; now for the answering node)' })
  lastSeen!: string;
}

export class ClusterView {
  @ApiProperty({ enum: ['single', 'cluster'] }) mode!: 'single' | 'cluster';
  @ApiProperty({ description: 'The process that answered' }) self!: string;
  @ApiPropertyOptional({ enum: ['up', 'down'], description: "The cluster's Redis (cluster mode)" })
  redis?: 'up' | 'down';
  @ApiProperty({ type: [ClusterNodeView] }) nodes!: ClusterNodeView[];
}

const startedAt = new Date().toISOString();

@ApiTags('admin: cluster')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/admin/cluster')
export class AdminClusterController {
  constructor(
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly nodes?: NodeRegistry,
    @Optional() private readonly bus?: ClusterBus,
  ) {
    nodes?.countSessionsWith(() => registry.size);
  }

  @Get()
  @ApiOperation({
    summary:
      'The processes of the cluster (id, pid, address, sessions, lease count, health), each asked now (as its last heartbeat said when it does not answer); a single process lists itself. While Redis is away only this process is listed.',
  })
  @ApiOkResponse({ type: ClusterView })
  async list(): Promise<ClusterView> {
    if (!this.nodes) {
      const node: NodeInfo = {
        nodeId: hostname(),
        pid: process.pid,
        address: `http://${hostname()}:${this.config.port}`,
        sessions: this.registry.size,
        leaseCount: 0,
        health: 'ok',
        startedAt,
        lastSeen: new Date().toISOString(),
      };
      return { mode: 'single', self: node.nodeId, nodes: [node] };
    }
    const self = this.nodes.self();
    let listed: NodeInfo[];
    try {
      listed = await this.nodes.list();
    } catch {
      return { mode: 'cluster', self: self.nodeId, redis: 'down', nodes: [self] };
    }
    const live = new Map<string, NodeInfo>();
    for (const answer of this.bus ? await this.bus.requestAll('node.info', {}).catch(() => []) : [])
      if (answer.ok) live.set(answer.nodeId, answer.result);
    const nodes = [self, ...listed.filter((n) => n.nodeId !== self.nodeId).map((n) => live.get(n.nodeId) ?? n)];
    return {
      mode: 'cluster',
      self: self.nodeId,
      redis: 'up',
      nodes: nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId)),
    };
  }
}
