import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import type { Response } from 'express';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreHealth } from '../persistence/store-health.js';
import { SessionRegistry } from '../session/session-registry.js';
import { HealthController, READY_STORE_TIMEOUT_MS } from './health.controller.js';

class FakeStore extends StoreHealth {
  readonly kind = 'embedded' as const;
  calls = 0;
  answer: () => Promise<boolean> = async () => true;
  ping(): Promise<boolean> {
    this.calls++;
    return this.answer();
  }
}

function fakeRes() {
  const res = {
    statusCode: 200,
    status(code: number) {
      res.statusCode = code;
      return res;
    },
  };
  return res;
}

describe('HealthController', () => {
  beforeAll(() => Logger.overrideLogger(false));
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function build() {
    const store = new FakeStore();
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        { provide: SessionRegistry, useValue: { size: 3 } },
        { provide: StoreHealth, useValue: store },
      ],
    }).compile();
    close = () => moduleRef.close();
    return { controller: moduleRef.get(HealthController), store };
  }

  it('/health answers from memory, never asking the store', async () => {
    const { controller, store } = await build();
    store.answer = () => new Promise(() => undefined); // a store that hangs
    const body = controller.health();
    expect(body).toMatchObject({ status: 'ok', sessions: 3, info: { process: { status: 'up' } } });
    expect(store.calls).toBe(0);
  });

  it('/ready is ok with the store up, 503 with it down, and 503 when it does not answer in time', async () => {
    const { controller, store } = await build();
    let res = fakeRes();
    expect(await controller.ready(res as unknown as Response)).toMatchObject({
      status: 'ok',
      info: { store: { status: 'up', kind: 'embedded' } },
    });
    expect(res.statusCode).toBe(200);

    store.answer = async () => false;
    res = fakeRes();
    expect(await controller.ready(res as unknown as Response)).toMatchObject({
      status: 'error',
      error: { store: { status: 'down' } },
    });
    expect(res.statusCode).toBe(503);

    store.answer = () => new Promise(() => undefined);
    res = fakeRes();
    const started = Date.now();
    expect(await controller.ready(res as unknown as Response)).toMatchObject({
      status: 'error',
      error: { store: { status: 'down' } },
    });
    expect(res.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(READY_STORE_TIMEOUT_MS + 1000);
  });
});
