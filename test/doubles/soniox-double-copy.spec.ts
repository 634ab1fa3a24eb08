import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, SONIOX_BENCH_COPY, renderSonioxBenchCopy } from './bench-copy.js';
import { ProbeClient, pcm } from './probe-client.js';

const CONFIG = { model: 'stt-rt-v5', audio_format: 'pcm_s16le', sample_rate: 16000, num_channels: 1 };

describe('bench/doubles/soniox-double.mjs', () => {
  it('is the type-stripped copy of test/doubles/soniox-double.ts (UPDATE_BENCH_COPY=1 regenerates it)', () => {
    const expected = renderSonioxBenchCopy();
    if (process.env.UPDATE_BENCH_COPY === '1') {
      mkdirSync(dirname(SONIOX_BENCH_COPY), { recursive: true });
      writeFileSync(SONIOX_BENCH_COPY, expected);
    }
    expect(
      existsSync(SONIOX_BENCH_COPY),
      'bench copy missing: run UPDATE_BENCH_COPY=1 npx vitest run test/doubles/soniox-double-copy.spec.ts',
    ).toBe(true);
    const actual = readFileSync(SONIOX_BENCH_COPY, 'utf8');
    expect(
      actual === expected,
      'bench/doubles/soniox-double.mjs is stale: run UPDATE_BENCH_COPY=1 npx vitest run test/doubles/soniox-double-copy.spec.ts',
    ).toBe(true);
    // Plain JavaScript: no type syntax survived.
    expect(actual).not.toMatch(/^\s*(export )?(interface|type) /m);
  });

  describe('running in its own process', () => {
    let child: ChildProcess | null = null;
    const clients: ProbeClient[] = [];

    afterEach(async () => {
      for (const c of clients.splice(0)) c.terminate();
      if (child && child.exitCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child!.once('exit', r));
      }
      child = null;
    });

    async function launch(options: Record<string, unknown>): Promise<{ url: string; controlUrl: string; pid: number }> {
      child = spawn(process.execPath, [SONIOX_BENCH_COPY, '--port', '0', '--options', JSON.stringify(options)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const lines = createInterface({ input: child.stdout! });
      const first = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 10_000);
        lines.once('line', (l) => {
          clearTimeout(t);
          resolve(l);
        });
        child!.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      return JSON.parse(first);
    }

    it('prints its URL, speaks the protocol, obeys the control endpoint, and exits on SIGTERM', async () => {
      const ready = await launch({ apiKeys: ['bench-key'], bytesPerWord: 3200, wordsPerUtterance: 2 });
      expect(ready.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/transcribe-websocket$/);
      expect(ready.pid).toBe(child!.pid);

      const c = await ProbeClient.open(ready.url, { headers: { Authorization: 'Bearer bench-key' } });
      clients.push(c);
      c.send(CONFIG);
      c.send(pcm(200));
      const res = await c.next((m) => m.tokens?.some((t: any) => t.is_final));
      expect(res.tokens.map((t: any) => t.text)).toEqual(['hello', ' world']);
      c.send({ type: 'finalize' });
      await c.next((m) => m.tokens?.some((t: any) => t.text === '<fin>'));

      const bad = await ProbeClient.open(ready.url, { headers: { Authorization: 'Bearer wrong' } });
      clients.push(bad);
      expect(await bad.next((m) => typeof m.error_code === 'number')).toMatchObject({ error_code: 401 });

      const ctl = await fetch(`${ready.controlUrl}/control`, {
        method: 'POST',
        body: JSON.stringify({ op: 'rejectAll', on: true }),
      });
      expect(ctl.status).toBe(200);
      expect((await ProbeClient.refused(ready.url, { headers: { Authorization: 'Bearer bench-key' } })).status).toBe(
        503,
      );

      const stats = (await (await fetch(`${ready.controlUrl}/stats`)).json()) as any;
      expect(stats.stats).toMatchObject({
        connections: 3,
        configsReceived: 1,
        finalizeCount: 1,
        bytesReceived: 6400,
        authFailures: 1,
        upgradesRejected: 1,
      });
      expect(stats.lastConfig).toEqual(CONFIG);

      const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
      child!.kill('SIGTERM');
      expect(await exited).toBe(0);
    });
  });
});
