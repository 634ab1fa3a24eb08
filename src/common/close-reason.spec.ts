import { describe, expect, it } from 'vitest';
import { WebSocketServer, WebSocket } from 'ws';
import { closeReason } from './close-reason.js';

describe('closeReason', () => {
  it('keeps a reason that fits and cuts a longer one to 123 bytes on a character boundary', () => {
    expect(closeReason('Not authenticated')).toBe('Not authenticated');
    const ascii = 'a'.repeat(200);
    expect(closeReason(ascii)).toBe('a'.repeat(123));
    // 3-byte characters: 41 of them are 123 bytes; a 2-byte lead makes the 42nd not fit whole.
    const wide = 'é' + '€'.repeat(100);
    const cut = closeReason(wide);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(123);
    expect(cut).toBe('é' + '€'.repeat(40));
    // A surrogate pair is never split.
    expect(closeReason('😀'.repeat(40))).toBe('😀'.repeat(30));
  });

  it('gives a reason ws accepts where a cut by characters made ws.close throw', async () => {
    const reason = `Send tpa_connection_init first (${'€'.repeat(100)})`;
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      const client = new WebSocket(`ws://127.0.0.1:${port}`);
      client.on('close', (code, r) => resolve({ code, reason: r.toString() }));
    });
    const [socket] = await new Promise<WebSocket[]>((r) => server.once('connection', (ws) => r([ws])));
    expect(() => socket.close(1008, reason.slice(0, 120))).toThrow(/123 bytes/);
    socket.close(1008, closeReason(reason));
    expect((await closed).code).toBe(1008);
    server.close();
  });
});
