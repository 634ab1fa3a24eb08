import { readFileSync } from 'node:fs';
import { AppServer, AppSession } from '@mentra/sdk-3';

/**
 * A real, unmodified @mentra/sdk 3.0.0-hono.8 app, run under Bun (the 3.x line runs on Bun only) as a child
 * process by test/sdk3.e2e-spec.ts. Its AppServer is a Hono app whose `start()` does not listen: Bun serves its
 * `fetch`, as an app's `export default` does.
 *
 *   PACKAGE_NAME=… MENTRAOS_API_KEY=… bun test/support/sdk3-app.ts
 *
 * Prints `LISTENING <port>` once served. PING_INTERVAL_MS shortens the SDK's 15 s app ping (a test knob: the
 * SDK reads the period from a static field on each connect). Besides the SDK's own routes it adds two, as an
 * app adds routes to its Hono server:
 *   GET  /test/state   what the app saw: sessions, pongs, errors, finished output streams
 *   POST /test/stream  {file, chunkBytes, intervalMs}: opens an output stream, answers {streamId, streamUrl}
 *                      once the cloud said ready, then writes the MP3 file in chunks and ends the stream
 *   POST /test/photo   requestPhoto({sound:false}): its outcome
 *   POST /test/rtmp    {rtmpUrl}: startStream({rtmpUrl, sound:false})
 */

declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: (req: Request) => Response | Promise<Response> }): {
    port: number;
  };
};

const packageName = process.env.PACKAGE_NAME ?? '';
const apiKey = process.env.MENTRAOS_API_KEY ?? '';
if (!packageName || !apiKey) {
  console.error('Set PACKAGE_NAME and MENTRAOS_API_KEY');
  process.exit(2);
}
if (process.env.PING_INTERVAL_MS)
  (AppSession as unknown as { PING_INTERVAL_MS: number }).PING_INTERVAL_MS = Number(process.env.PING_INTERVAL_MS);

interface State {
  sessions: number;
  pongs: number;
  errors: string[];
  streamsDone: Array<{ streamId: string; bytes: number }>;
}

const state: State = { sessions: 0, pongs: 0, errors: [], streamsDone: [] };
let current: AppSession | null = null;

class Sdk3TestApp extends AppServer {
  protected override async onSession(session: AppSession): Promise<void> {
    state.sessions++;
    current = session;
    // Count what reaches the app's socket: the SDK itself swallows `pong` without a trace.
    const ws = (session as unknown as { ws: { on(e: 'message', fn: (d: unknown, bin: boolean) => void): void } }).ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      try {
        if ((JSON.parse(String(data)) as { type?: string }).type === 'pong') state.pongs++;
      } catch {
        /* not JSON */
      }
    });
    session.events.onError((err) => state.errors.push(err instanceof Error ? err.message : String(err)));
    session.layouts.showTextWall('Hello from SDK 3 under Bun');
  }
}

const app = new Sdk3TestApp({ packageName, apiKey, port: 0 });

app.get('/test/state', (c) => c.json(state));
app.post('/test/stream', async (c) => {
  const {
    file,
    chunkBytes = 4096,
    intervalMs = 20,
  } = await c.req.json<{
    file: string;
    chunkBytes?: number;
    intervalMs?: number;
  }>();
  if (!current) return c.json({ error: 'no session' }, 409);
  const mp3 = readFileSync(file);
  const stream = await current.audio.createOutputStream();
  void (async () => {
    for (let off = 0; off < mp3.length; off += chunkBytes) {
      stream.write(mp3.subarray(off, off + chunkBytes));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    await stream.end();
    state.streamsDone.push({ streamId: stream.streamId, bytes: mp3.length });
  })();
  return c.json({ streamId: stream.streamId, streamUrl: stream.streamUrl });
});

app.post('/test/photo', async (c) => {
  if (!current) return c.json({ error: 'no session' }, 409);
  try {
    const photo = await current.camera.requestPhoto({ sound: false });
    return c.json({ ok: true, size: photo.size });
  } catch (err) {
    return c.json({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
app.post('/test/rtmp', async (c) => {
  if (!current) return c.json({ error: 'no session' }, 409);
  const { rtmpUrl } = await c.req.json<{ rtmpUrl: string }>();
  await current.camera.startStream({ rtmpUrl, sound: false });
  return c.json({ ok: true });
});

const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (req) => app.fetch(req) });
console.log(`LISTENING ${server.port}`);
