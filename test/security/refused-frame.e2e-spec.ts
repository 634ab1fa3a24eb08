import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { RawClient } from '../support/raw-ws.js';

/**
 * A raw TCP peer that upgrades to `path`, announces one masked text frame of 16 MB and then streams its payload
 * while never closing its side (half-open): what a peer does that wants us to keep reading after the refusal.
 * Resolves with the bytes it could write before the server dropped the connection, or null if it was still
 * connected after `patienceMs`.
 */
async function streamPastRefusal(
  url: string,
  path: string,
  headers: Record<string, string>,
  patienceMs: number,
): Promise<{ status: string; writtenMB: number } | null> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  let head = '';
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  socket.on('data', () => undefined); // the close frame, then nothing: this peer never answers it
  const status = head.split('\r\n')[0]!;
  // FIN + text opcode, masked, 64-bit length 16 MiB, an all-zero mask
  socket.write(Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0]));
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let written = 0;
  let closed = false;
  socket.once('close', () => (closed = true));
  const until = Date.now() + patienceMs;
  while (!closed && Date.now() < until) {
    if (socket.write(chunk)) written += chunk.length;
    else await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.destroy();
  return closed ? { status, writtenMB: written / 1_048_576 } : null;
}

/**
 * After refusing a frame (1009 from its header), a socket stops reading and is dropped: without this, `ws` reads
 * and discards what the peer still sends for up to 30 s, and a peer that keeps streaming costs a core.
 */
describe('a refused frame ends the connection instead of being drained', () => {
  let cloud: TestCloud;

  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud?.close();
  });

  it('/glasses-ws: a peer streaming on after its 16 MB frame was refused is disconnected', async () => {
    const r = await streamPastRefusal(
      cloud.url,
      '/glasses-ws',
      { Authorization: `Bearer ${cloud.token('streamer@security.test')}` },
      10_000,
    );
    expect(r, 'still connected after 10 s').not.toBeNull();
    expect(r!.status).toBe('HTTP/1.1 101 Switching Protocols');
    // What the kernel buffers took, not what a 10 s stream at loopback speed would be.
    expect(r!.writtenMB).toBeLessThan(200);
  });

  it('/app-ws: so is one that never authenticated (its frames are refused past an init size)', async () => {
    const r = await streamPastRefusal(cloud.url, '/app-ws', {}, 10_000);
    expect(r, 'still connected after 10 s').not.toBeNull();
    expect(r!.status).toBe('HTTP/1.1 101 Switching Protocols');
    expect(r!.writtenMB).toBeLessThan(200);
  });

  it('an ordinary client still receives the 1009 close', async () => {
    const c = await RawClient.open(`${cloud.url.replace('http', 'ws')}/glasses-ws`, {
      authorization: `Bearer ${cloud.token('ordinary@security.test')}`,
    });
    await c.next((m) => m.type === 'connection_ack');
    c.send(Buffer.alloc(1_048_576));
    expect((await c.waitClosed(5000)).code).toBe(1009);
  });
});
