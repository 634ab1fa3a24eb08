import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppConfig } from '../config/config.types.js';

/** Who this process is in the cluster: the id in its leases and presence, and where it can be reached. */
export class NodeIdentity {
  readonly pid = process.pid;
  readonly startedAt = new Date().toISOString();

  constructor(
    readonly nodeId: string,
    readonly address: string,
  ) {}

  /**
   * A generated id carries a random part: a process restarted with the same pid (a container) must not inherit
   * the leases its previous life held.
   */
  static fromConfig(config: AppConfig): NodeIdentity {
    const host = hostname();
    const id = config.clusterOptions.nodeId ?? `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
    return new NodeIdentity(id, config.clusterOptions.nodeAddress ?? `http://${host}:${config.port}`);
  }
}
