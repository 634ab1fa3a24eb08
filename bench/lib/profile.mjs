// --profile: CPU-profiles our server through the inspector protocol (Profiler domain) during one extra run of its
// heaviest step, writes a .cpuprofile (open it in Chrome DevTools / speedscope) and summarizes the hot spots.
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import WebSocket from 'ws';
import { startUnits, stopUnits, measured } from './harness.mjs';
import { freePort, sleep, ROOT_DIR } from './proc.mjs';
import { warmUp } from '../scenarios/idle.mjs';

async function inspectorSession(port) {
  let list = null;
  for (let i = 0; i < 50 && !list; i++) {
    try {
      list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch {
      await sleep(100);
    }
  }
  if (!list?.[0]?.webSocketDebuggerUrl) throw new Error('inspector: no debugger target');
  const ws = new WebSocket(list[0].webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  let id = 0;
  const pending = new Map();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    const p = pending.get(m.id);
    if (p) {
      pending.delete(m.id);
      if (m.error) p.rej(new Error(JSON.stringify(m.error)));
      else p.res(m.result);
    }
  });
  return {
    send: (method, params = {}) =>
      new Promise((res, rej) => {
        const i = ++id;
        pending.set(i, { res, rej });
        ws.send(JSON.stringify({ id: i, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Self time per function (ms), top n. */
export function hotSpots(profile, n = 15) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]);
    const dt = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const cf = node?.callFrame ?? {};
    const url = (cf.url || '').replace(/^file:\/\//, '');
    const key =
      `${cf.functionName || '(anonymous)'} ${url ? `${relative(ROOT_DIR, url) || url}:${cf.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, selfMs: Math.round(ms), pct: total ? Math.round((ms / total) * 1000) / 10 : 0 }));
}

function pickHeaviest(results, only) {
  let best = null;
  for (const name of only ? [only] : ['relay', 'audio']) {
    const r = results[name];
    for (const s of r?.steps ?? []) {
      const cpu = s.ours?.summary?.serverCpuPct?.median;
      if (cpu != null && (!best || cpu > best.cpu)) best = { scenario: name, step: s.step, cpu };
    }
  }
  return best;
}

export async function profileHeaviest(ctx, results, outDir, stamp, which = true) {
  const only = which === true ? null : which;
  const pick =
    only === 'churn' || only === 'setup'
      ? { scenario: only, step: ctx.profile[only].steps[0], cpu: null }
      : (pickHeaviest(results, only) ?? {
          scenario: only ?? 'relay',
          step: ctx.profile[only ?? 'relay'].steps.at(-1),
          cpu: null,
        });
  ctx.log(
    `profile: our server during ${pick.scenario} at ${pick.step}${pick.cpu != null ? ` (median server CPU ${pick.cpu.toFixed(0)}%)` : ''}`,
  );
  const port = await freePort();
  const pctx = { ...ctx, kinds: ['ours'], pool: null };
  const perr = {};
  // as in the relay scenario: room above the per-socket message limit for the relay's top step
  const perSocket = Math.ceil(Math.max(...ctx.profile.relay.steps) / ctx.profile.relay.users);
  const extraEnv =
    pick.scenario === 'relay' && perSocket > 200 ? { GLASSES_SOCKET_MESSAGES_PER_SECOND: String(perSocket * 2) } : {};
  const units = await startUnits(pctx, perr, { nodeArgs: [`--inspect=127.0.0.1:${port}`], fresh: true, extraEnv });
  const u = units.ours;
  if (!u) throw new Error(`our server did not start: ${perr.serverErrors?.ours ?? 'unknown'}`);
  let session = null;
  try {
    let result;
    if (pick.scenario === 'relay') {
      const cfg = ctx.profile.relay;
      await u.load.call('createApp', {
        packageName: 'com.bench.relay',
        subscriptions: ['button_press', 'head_position'],
      });
      await u.load.call(
        'setup',
        { packageName: 'com.bench.relay', prefix: 'relay-', from: 0, to: cfg.users, concurrency: 32 },
        180_000,
      );
      session = await inspectorSession(port);
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 200 });
      await session.send('Profiler.start');
      result = await measured(
        pctx,
        u,
        'relay',
        { rate: pick.step, users: cfg.users, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs, drainMs: cfg.drainMs },
        120_000,
      );
    } else if (pick.scenario === 'churn') {
      const cfg = ctx.profile.churn;
      await u.load.call('createApp', { packageName: 'com.bench.churn', subscriptions: ['button_press'] });
      await u.load.call('install', { packageName: 'com.bench.churn', prefix: 'cp-', from: 0, to: pick.step }, 300_000);
      session = await inspectorSession(port);
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 200 });
      await session.send('Profiler.start');
      const maxMs = Math.max(5000, (pick.step / cfg.rate) * 2500);
      const c = await u.load.call(
        'churn',
        {
          packageName: 'com.bench.churn',
          prefix: 'cp-',
          count: pick.step,
          rate: cfg.rate,
          concurrency: cfg.concurrency,
          maxMs,
        },
        maxMs + 60_000,
      );
      result = { lossPct: null, latency: c.latency, serverCpuPct: null, cyclesPerS: c.cyclesPerS };
    } else if (pick.scenario === 'setup') {
      const cfg = ctx.profile.setup;
      const pkg = 'com.bench.setup';
      await u.load.call('createApp', { packageName: pkg, subscriptions: ['button_press', 'head_position'] });
      await warmUp(pctx, u, { packageName: pkg, prefix: 'spw-', count: cfg.warmup, concurrency: cfg.concurrency });
      await u.load.call(
        'install',
        { packageName: pkg, prefix: 'sp-', from: 0, to: pick.step, concurrency: 32 },
        300_000,
      );
      session = await inspectorSession(port);
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 200 });
      await session.send('Profiler.start');
      const maxMs = Math.max(20_000, pick.step * 12);
      const s = await u.load.call(
        'setup',
        {
          packageName: pkg,
          prefix: 'sp-',
          from: 0,
          to: pick.step,
          concurrency: cfg.concurrency,
          maxMs,
          install: false,
        },
        maxMs + 120_000,
      );
      result = { lossPct: null, latency: s.start, serverCpuPct: null, cyclesPerS: s.added / (s.sessionsMs / 1000) };
    } else {
      const cfg = ctx.profile.audio;
      await u.load.call('createApp', { packageName: 'com.bench.audio', subscriptions: ['audio_chunk'] });
      await u.load.call(
        'setup',
        { packageName: 'com.bench.audio', prefix: 'audio-', from: 0, to: pick.step, concurrency: 64 },
        300_000,
      );
      session = await inspectorSession(port);
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 200 });
      await session.send('Profiler.start');
      result = await measured(
        pctx,
        u,
        'audio',
        { users: pick.step, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs, drainMs: cfg.drainMs, stepId: 999_999 },
        120_000,
      );
    }
    const { profile } = await session.send('Profiler.stop');
    const file = join(outDir, `${stamp}-ours-${pick.scenario}-${pick.step}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const top = hotSpots(profile);
    ctx.log(`profile written: ${file}`);
    return {
      scenario: pick.scenario,
      step: pick.step,
      file: relative(ROOT_DIR, file),
      run: {
        lossPct: result.lossPct,
        p99: result.latency?.p99,
        serverCpuPct: result.serverCpuPct,
        cyclesPerS: result.cyclesPerS,
        note: 'profiled run (sampling every 200 µs), not counted in the results',
      },
      hotSpots: top,
    };
  } finally {
    session?.close();
    await stopUnits(units, pctx);
  }
}
