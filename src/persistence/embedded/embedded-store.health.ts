import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { StoreHealth } from '../store-health.js';
import { EmbeddedStore } from './embedded.store.js';

@Injectable()
export class EmbeddedStoreHealth extends StoreHealth {
  readonly kind = 'embedded' as const;

  constructor(@Inject(EmbeddedStore) private readonly store: EmbeddedStore) {
    super();
  }

  /** The data is in memory once loaded, so what can still fail is appending to the files. */
  async ping(): Promise<boolean> {
    if (this.store.closed) return false;
    try {
      await access(this.store.dataDir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
}
