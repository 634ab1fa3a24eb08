import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import mongoose, { type Connection } from 'mongoose';
import { StoreHealth } from '../store-health.js';

/** Longest a ping may take: the driver would otherwise wait out its whole server-selection timeout. */
const PING_TIMEOUT_MS = 2_000;

@Injectable()
export class MongoStoreHealth extends StoreHealth {
  readonly kind = 'mongo' as const;

  constructor(@InjectConnection() private readonly connection: Connection) {
    super();
  }

  async ping(): Promise<boolean> {
    const db = this.connection.db;
    if (this.connection.readyState !== mongoose.ConnectionStates.connected || !db) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
    });
    try {
      return await Promise.race([
        db
          .admin()
          .ping()
          .then(() => true),
        timeout,
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
