import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { normalizeUserId } from '../../src/common/user-id.js';
import { userAppWsUrl, userRouteKey } from '../../src/cluster/user-route-key.js';
import { signCoreToken } from '../../src/simulator/core-token.js';
import { freePort } from '../support/cloud.js';
import { startNginxCluster, type NginxCluster } from '../support/nginx-cluster.js';

const SECRET = 'nginx-routing-test-secret-0123456789';
const FAIL_TIMEOUT_S = 1;

/** What an upstream saw: its name, the path, the route key nginx hashed, and (sockets) the Authorization header. */
interface Seen {
  upstream: string;
  url: string;
  routeKey?: string;
  authorization?: string;
}

const routeKeyOf = (req: IncomingMessage) => req.headers['x-cluster-route-key'] as string | undefined;

/** A tiny HTTP + WebSocket server on a loopback port that says who it is; it can stop, start again and drain. */
class Upstream {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Draining: upgrades get 503, as a cloud process that is shutting down answers them. */
  draining = false;

  constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ upstream: this.name, url: req.url ?? '', routeKey: routeKeyOf(req) } satisfies Seen));
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (this.draining) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const seen: Seen = {
          upstream: this.name,
          url: req.url ?? '',
          routeKey: routeKeyOf(req),
          authorization: req.headers.authorization,
        };
        ws.send(JSON.stringify(seen));
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  /** Like a killed process: the port refuses connections, open ones are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
}

/** Opens a socket through nginx and returns what the upstream that accepted it saw. */
function wsSeen(url: string, headers: Record<string, string> = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer on ${url}`));
    }, 5_000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      ws.close();
      resolve(JSON.parse(data.toString()) as Seen);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`upgrade refused: ${res.statusCode}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('nginx cluster template: routing by user with hash consistent', () => {
  const upstreams: Upstream[] = [];
  let nginx: NginxCluster;
  const users = Array.from({ length: 60 }, (_, i) => `user${i}@example.com`);
  const glasses = (userId: string, token = signCoreToken(userId, SECRET)) =>
    wsSeen(`${nginx.wsUrl}/glasses-ws`, { authorization: `Bearer ${token}` });
  const placement = async () =>
    Object.fromEntries(await Promise.all(users.map(async (u) => [u, (await glasses(u)).upstream] as const)));

  beforeAll(async () => {
    for (const name of ['A', 'B', 'C']) {
      const u = new Upstream(name, await freePort());
      await u.start();
      upstreams.push(u);
    }
    nginx = await startNginxCluster(
      upstreams.map((u) => u.address),
      FAIL_TIMEOUT_S,
    );
  });
  afterAll(async () => {
    await nginx?.close();
    await Promise.all(upstreams.map((u) => u.stop()));
  });

  it('the same user always reaches the same upstream: glasses and phone REST by the token (header or ?token=), its app socket and SDK calls by /u/<key>', async () => {
    for (const userId of users.slice(0, 20)) {
      const token = signCoreToken(userId, SECRET);
      // One token for every call: a token signed a second later differs (its iat), and this checks it arrives as sent.
      const first = await glasses(userId, token);
      expect(first.url).toBe('/glasses-ws');
      expect(first.authorization).toBe(`Bearer ${token}`);
      expect((await glasses(userId)).upstream).toBe(first.upstream);
      expect((await wsSeen(`${nginx.wsUrl}/glasses-ws?token=${token}`)).upstream).toBe(first.upstream);
      // The app socket at the URL the webhook gives, and the SDK's REST calls under the same prefix.
      const app = await wsSeen(userAppWsUrl(nginx.url, userId));
      expect(app).toMatchObject({ upstream: first.upstream, url: '/app-ws' });
      const key = userRouteKey(userId);
      const rest = (await (await fetch(`${nginx.url}/u/${key}/api/sdk/simple-storage/x?a=1`)).json()) as Seen;
      expect(rest).toEqual({ upstream: first.upstream, url: '/api/sdk/simple-storage/x?a=1', routeKey: key });
      expect(first.routeKey).toBe(key);
      // The phone's REST calls carry the same core token: they reach the user's process too.
      const phone = await fetch(`${nginx.url}/api/client/device/state`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect((await phone.json()) as Seen).toEqual({
        upstream: first.upstream,
        url: '/api/client/device/state',
        routeKey: key,
      });
    }
  });

  it('nginx computes the same route key as the service from the token, for any spelling of the email', async () => {
    // Case, surrounding spaces, Unicode whitespace, final sigma, dotted I, Kelvin sign, letters newer than njs's tables.
    const spellings = [
      'alice@example.com',
      '  Alice.Smith@Example.COM ',
      '\u3000Bob+Tag@Example.org\u00a0',
      'ZOË.ÜNÏCODE@EXAMPLE.COM',
      'ΣΊΣΥΦΟΣ@example.gr',
      'ΣΊΣΥΦΟΣ0@example.gr',
      'İstanbul@example.tr',
      '\u212Aelvin@example.com',
      'new\uA7CBletter@example.com',
      '用户@例子.中国',
    ];
    for (const email of spellings) {
      const seen = await glasses(email);
      expect(seen.routeKey, email).toBe(userRouteKey(email));
      // The service builds the app URL from its normalised user id: the same key, the same process.
      const app = await wsSeen(userAppWsUrl(nginx.url, normalizeUserId(email)));
      expect(app, email).toMatchObject({ upstream: seen.upstream, routeKey: seen.routeKey });
    }
    // Plain requests are not user-routed and carry no key.
    expect(((await (await fetch(`${nginx.url}/health`)).json()) as Seen).routeKey).toBeUndefined();
  });

  it('different users spread over the upstreams; requests without a user are round-robin', async () => {
    const counts: Record<string, number> = {};
    for (const up of Object.values(await placement())) counts[up] = (counts[up] ?? 0) + 1;
    expect(Object.keys(counts).sort()).toEqual(['A', 'B', 'C']);
    for (const n of Object.values(counts)) expect(n).toBeGreaterThanOrEqual(8); // 20 each on average
    const hits = new Set<string>();
    for (let i = 0; i < 9; i++) hits.add(((await (await fetch(`${nginx.url}/health`)).json()) as Seen).upstream);
    expect([...hits].sort()).toEqual(['A', 'B', 'C']);
    // A socket without a valid token is not pinned either (the process refuses it).
    const anon = new Set<string>();
    for (let i = 0; i < 12; i++) anon.add((await wsSeen(`${nginx.wsUrl}/glasses-ws`)).upstream);
    expect(anon.size).toBeGreaterThan(1);
  });

  it("a dead upstream's users move to the others (spread), nobody else moves, and they return when it is back", async () => {
    const before = await placement();
    const b = upstreams[1]!;
    await b.stop();
    // Every connection succeeds, the first one after the death included (proxy_next_upstream).
    const during = await placement();
    const movedTo = new Set<string>();
    for (const u of users) {
      if (before[u] === 'B') {
        expect(during[u]).not.toBe('B');
        movedTo.add(during[u]!);
      } else expect(during[u], u).toBe(before[u]);
    }
    expect([...movedTo].sort()).toEqual(['A', 'C']);
    await b.start();
    await new Promise((r) => setTimeout(r, FAIL_TIMEOUT_S * 1000 + 200));
    // After fail_timeout nginx tries B again; users whose try hits it stay there: all of B's users come back.
    const deadline = Date.now() + 10_000;
    let after = await placement();
    while (users.some((u) => after[u] !== before[u]) && Date.now() < deadline) after = await placement();
    expect(after).toEqual(before);
  });

  it("a draining upstream (503 to new sockets) sends its users' new sockets to the next process; its plain requests too", async () => {
    const before = await placement();
    const c = upstreams[2]!;
    c.draining = true;
    try {
      const during = await placement();
      for (const u of users) {
        if (before[u] === 'C') expect(during[u]).not.toBe('C');
        else expect(during[u]).toBe(before[u]);
      }
    } finally {
      c.draining = false;
    }
  });
});
