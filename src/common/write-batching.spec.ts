import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchWrites, rememberRawSocket } from './write-batching.js';

describe('batchWrites', () => {
  let server: Server;
  let client: Socket;
  let serverSide: Socket;
  const received: Buffer[] = [];

  beforeEach(async () => {
    received.length = 0;
    serverSide = undefined as unknown as Socket;
    server = createServer((s) => {
      s.on('error', () => undefined); // the client going away first resets the connection
      serverSide = s;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    client = createConnection(port, '127.0.0.1');
    client.on('data', (d) => received.push(d));
    await new Promise((r) => client.once('connect', r));
    while (!serverSide) await new Promise((r) => setImmediate(r));
  });

  afterEach(async () => {
    client.destroy();
    serverSide.destroy();
    await new Promise((r) => server.close(r));
  });

  /** Counts the writes the socket hands to the OS: one per `_write`, one per batched `_writev`. */
  function countWrites(socket: Socket): () => number {
    let writes = 0;
    const s = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
    for (const key of ['_write', '_writev'] as const) {
      const original = s[key].bind(socket);
      s[key] = (...a: unknown[]) => {
        writes++;
        return original(...a);
      };
    }
    return () => writes;
  }

  it('sends what is written in one synchronous run in one write, when it yields', async () => {
    const ws = {};
    rememberRawSocket(ws, serverSide);
    const writes = countWrites(serverSide);
    batchWrites(ws);
    serverSide.write('one,');
    batchWrites(ws); // a second frame in the same run joins the batch
    serverSide.write('two,');
    serverSide.write('three');
    expect(writes()).toBe(0);
    expect(serverSide.writableCorked).toBe(1);
    await Promise.resolve();
    expect(serverSide.writableCorked).toBe(0);
    expect(writes()).toBe(1);
    while (Buffer.concat(received).length < 'one,two,three'.length) await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(received).toString()).toBe('one,two,three');
  });

  it('without a batch every write goes out on its own, and an unknown socket is left alone', async () => {
    const writes = countWrites(serverSide);
    batchWrites({}); // never remembered: nothing to cork
    serverSide.write('a');
    serverSide.write('b');
    expect(serverSide.writableCorked).toBe(0);
    expect(writes()).toBeGreaterThanOrEqual(1);
    await Promise.resolve();
    expect(writes()).toBe(2);
  });
});
