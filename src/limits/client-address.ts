import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** Express's compiled `trust proxy`: whether the address `hop` steps from the server is a proxy to believe. */
export type TrustFn = (address: string, hop: number) => boolean;

/**
 * The client address of a request that Express does not see (WebSocket upgrades), decided exactly as Express
 * decides `req.ip`: with the same compiled trust function (handed over by the app factory from TRUST_PROXY), walk
 * X-Forwarded-For from the right while each hop is a trusted proxy. Without TRUST_PROXY the header is ignored.
 */
@Injectable()
export class ClientAddress {
  private trust: TrustFn = () => false;

  useTrust(trust: TrustFn): void {
    this.trust = trust;
  }

  of(req: IncomingMessage): string {
    let address = req.socket.remoteAddress ?? 'unknown';
    if (!this.trust(address, 0)) return address;
    const header = req.headers['x-forwarded-for'];
    if (typeof header !== 'string' || header === '') return address;
    const hops = header
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    for (let i = hops.length - 1, hop = 1; i >= 0; i--, hop++) {
      address = hops[i]!;
      if (!this.trust(address, hop)) break;
    }
    return address;
  }
}
