// Scenario 7 — cluster mode: what REDIS_URL costs one process. Ours only, two instances of our server: "cluster"
// (REDIS_URL = a redis-server the bench starts, STORE=redis, one process) and "single" (no REDIS_URL, the embedded
// store: `npm start`), interleaved like the other scenarios. Measured per mode:
//   - relay and audio: server CPU µs per delivered message (N users, each with one app subscribed to button_press,
//     head_position and audio_chunk), plus redis-server's CPU over the same step (cluster mode adds no
//     per-message Redis work, so it should stay at its idle level);
//   - session set-up: M fresh users connect + start_app + app acked and subscribed, per repeat; sessions/s at the
//     load's concurrency and server CPU ms per session (1000 / that = sessions/s one core could build);
//   - cross-process admin calls: a second cluster process is started and, on it, `GET /api/admin/cluster` (a
//     node-list read from Redis plus a `node.info` bus request to every process, answered over Redis pub/sub) and
//     `GET /api/admin/sessions/:user` for users the first process holds (carried out by the owner, one bus request)
//     are timed, against the same calls on the single process (answered locally).
import { startUnit, stopUnits, measured, guard, active, waitQuiet, sleep } from '../lib/harness.mjs';
import { aggregate, stepReps } from './common.mjs';
import { TARGETS } from '../lib/config.mjs';
import { admin, cpuMs, runtime, startServer } from '../lib/proc.mjs';
import { percentiles, summarize, ratio } from '../lib/stats.mjs';
import { startRedis } from '../lib/redis.mjs';

export const MODES = ['cluster', 'single'];
const PKG = 'com.bench.cluster';
const SUBS = ['button_press', 'head_position', 'audio_chunk'];
/** Server CPU per message in cluster mode at most 1/0.95 of single mode's (≥ 0.95 of its efficiency). */
const EFFICIENCY_TARGET = 0.95;

export async function run(ctx) {
  const cfg = ctx.profile.cluster;
  const users = cfg.steps[0];
  const out = {
    scenario: 'cluster',
    modes: MODES,
    config: { ...cfg, users, relayRate: users * cfg.eventsPerUserPerS, audioFramesPerS: users * 10 },
    steps: [],
    notes: [],
    serverErrors: {},
  };
  if (!ctx.kinds.includes('ours')) {
    out.skipped = 'needs our server (the baseline has no cluster mode)';
    return out;
  }
  const mctx = { ...ctx, kinds: MODES, pool: null };
  const redis = await startRedis(ctx.plan);
  ctx.log(`  redis-server pid ${redis.pid} at ${redis.url} (appendonly yes)`);
  const clusterEnv = (nodeId) => ({ REDIS_URL: redis.url, STORE: 'redis', CLUSTER_NODE_ID: nodeId });
  const units = {};
  let second = null;
  try {
    await Promise.all(
      MODES.map(async (mode) => {
        try {
          units[mode] = await startUnit(ctx, 'ours', { extraEnv: mode === 'cluster' ? clusterEnv('bench-a') : {} });
        } catch (e) {
          out.serverErrors[mode] = String(e?.message ?? e);
          ctx.log(`  ${mode} FAILED to start: ${out.serverErrors[mode].split('\n')[0]}`);
        }
      }),
    );
    for (const mode of active(mctx, units))
      await guard(mctx, out, units, mode, (u) => u.load.call('createApp', { packageName: PKG, subscriptions: SUBS }));

    // Session set-up: fresh users every repeat, closed (and their sessions ended) before the next one.
    const setupReps = {};
    for (let rep = 0; rep < ctx.repeat; rep++) {
      for (const mode of rep % 2 ? [...active(mctx, units)].reverse() : active(mctx, units)) {
        if (cfg.quietWaitMs) await waitQuiet(mctx, units, cfg.quietWaitMs);
        await guard(mctx, out, units, mode, async (u) => {
          const prefix = `cs${rep}-`;
          await u.load.call('install', { packageName: PKG, prefix, from: 0, to: cfg.setupSessions });
          const c0 = cpuMs(u.server.pid);
          const k0 = await redis.commands();
          const rc0 = cpuMs(redis.pid);
          const r = await u.load.call(
            'setup',
            {
              packageName: PKG,
              prefix,
              from: 0,
              to: cfg.setupSessions,
              concurrency: cfg.setupConcurrency,
              install: false,
            },
            240_000,
          );
          const cpu = cpuMs(u.server.pid) - c0;
          const k1 = await redis.commands();
          const rc1 = cpuMs(redis.pid);
          // `setup` waits 300 ms after the last session for its subscriptions to land.
          const wallMs = Math.max(1, r.ms - 300);
          const rec = {
            sessionsPerS: (cfg.setupSessions * 1000) / wallMs,
            cpuMsPerSession: cpu / cfg.setupSessions,
            // Single mode: only the idle cluster process's renewals and heartbeats.
            redisCommandsPerSession: (k1 - k0) / cfg.setupSessions,
            redisCpuMsPerSession: (rc1 - rc0) / cfg.setupSessions,
          };
          rec.sessionsPerCoreS = rec.cpuMsPerSession > 0 ? 1000 / rec.cpuMsPerSession : null;
          (setupReps[mode] ??= []).push(rec);
          ctx.log(
            `  set-up ${cfg.setupSessions} sessions ${mode} #${rep + 1}: ${rec.sessionsPerS.toFixed(0)}/s (concurrency ${cfg.setupConcurrency}), server CPU ${rec.cpuMsPerSession.toFixed(2)} ms/session, ${rec.redisCommandsPerSession.toFixed(1)} Redis commands and ${rec.redisCpuMsPerSession.toFixed(2)} ms redis-server CPU per session`,
          );
          await u.load.call('closeAll', { apps: true }, 30_000);
          await untilNoSessions(ctx, u);
        });
      }
    }

    // Relay and audio over the same users.
    for (const mode of active(mctx, units))
      await guard(mctx, out, units, mode, async (u) => {
        const r = await u.load.call(
          'setup',
          { packageName: PKG, prefix: 'cl-', from: 0, to: users, concurrency: 32, maxMs: 120_000 },
          240_000,
        );
        ctx.log(`  ${mode}: ${r.sessions} sessions set up in ${r.ms} ms`);
      });
    let stepId = 1_000_000;
    for (const kind of ['relay', 'audio']) {
      const redisPct = {};
      const redisPerMsg = {};
      const reps = await stepReps(mctx, out, units, cfg, async (u, rep) => {
        const mode = MODES.find((m) => units[m] === u);
        const args = { users, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs, drainMs: cfg.drainMs };
        const r0 = cpuMs(redis.pid);
        const k0 = await redis.commands();
        const t0 = performance.now();
        const r = await measured(
          mctx,
          u,
          kind,
          kind === 'relay' ? { ...args, rate: users * cfg.eventsPerUserPerS } : { ...args, stepId: ++stepId },
          120_000,
        );
        const rp = ((cpuMs(redis.pid) - r0) / (performance.now() - t0)) * 100;
        (redisPct[mode] ??= []).push(rp);
        // Every Redis command during the whole call (warm-up and drain too) over the messages of the measured window.
        const sent = (r.deliveredPerS * cfg.durationMs) / 1000;
        (redisPerMsg[mode] ??= []).push(sent > 0 ? ((await redis.commands()) - k0) / sent : null);
        ctx.log(
          `  ${kind} ${users} users ${mode} #${rep + 1}: ${r.deliveredPerS.toFixed(0)}/s loss ${r.lossPct.toFixed(2)}% p99 ${r.latency.p99} ms, server CPU ${r.serverCpuPct?.toFixed(0)}% = ${r.cpuUsPerMsg?.toFixed(1)} µs/msg, redis-server ${rp.toFixed(1)}%, foreign ${r.foreignServerCorePct}/${r.foreignLoadCorePct}%, max stall ${r.maxStallMs} ms`,
        );
        return r;
      });
      const step = {
        step: kind,
        label: kind === 'relay' ? `relay, ${users * cfg.eventsPerUserPerS} ev/s` : `audio, ${users} users`,
      };
      for (const m of active(mctx, units))
        if (reps[m]?.length)
          step[m] = {
            ...aggregate(reps[m]),
            redisCpuPct: summarize(redisPct[m] ?? []),
            redisCommandsPerMsg: summarize(redisPerMsg[m] ?? []),
          };
      out.steps.push(step);
    }

    // Cross-process admin call: a second cluster process, the call timed on it.
    const adminMs = {};
    if (units.cluster) {
      second = await startServer('ours', {
        plan: ctx.plan,
        secrets: ctx.secrets,
        graceMs: ctx.profile.graceMs,
        extraEnv: clusterEnv('bench-b'),
      });
      // Both processes in the node list before timing.
      for (let i = 0; i < 100; i++) {
        const r = await admin(second, ctx.secrets, 'GET', '/api/admin/cluster');
        if (r?.nodes?.length === 2) break;
        await sleep(100);
      }
    }
    const ownerMs = {};
    for (const mode of active(mctx, units)) {
      const target = mode === 'cluster' ? second : units[mode].server;
      const where = mode === 'cluster' ? 'the second cluster process' : 'the single process';
      const times = [];
      let nodes = null;
      for (let i = 0; i < cfg.adminCalls + 5; i++) {
        const t0 = performance.now();
        const r = await admin(target, ctx.secrets, 'GET', '/api/admin/cluster');
        if (i >= 5) times.push(performance.now() - t0);
        nodes = r?.nodes?.length ?? null;
      }
      adminMs[mode] = { ...percentiles(times), nodes };
      ctx.log(
        `  GET /api/admin/cluster on ${where} (${nodes} node(s)): p50 ${adminMs[mode].p50} p99 ${adminMs[mode].p99} ms over ${times.length} calls`,
      );
      // One user's session summary, asked of a process that does not hold it: carried out by the owner (one bus
      // request there and back); on the single process, answered locally.
      const owned = [];
      const owners = new Set();
      for (let i = 0; i < cfg.adminCalls + 5; i++) {
        const user = encodeURIComponent(`cl-${i % users}@bench.local`);
        const t0 = performance.now();
        const r = await admin(target, ctx.secrets, 'GET', `/api/admin/sessions/${user}`);
        if (i >= 5) owned.push(performance.now() - t0);
        if (!r?.userId)
          throw new Error(`GET /api/admin/sessions/${user} on ${where}: ${JSON.stringify(r).slice(0, 200)}`);
        owners.add(r.ownerNode ?? 'local');
      }
      ownerMs[mode] = { ...percentiles(owned), owners: [...owners] };
      ctx.log(
        `  GET /api/admin/sessions/:user on ${where} (answered by ${[...owners].join(',')}): p50 ${ownerMs[mode].p50} p99 ${ownerMs[mode].p99} ms over ${owned.length} calls`,
      );
    }
    out.setup = Object.fromEntries(
      Object.entries(setupReps).map(([m, reps]) => [
        m,
        {
          reps,
          sessionsPerS: summarize(reps.map((r) => r.sessionsPerS)),
          cpuMsPerSession: summarize(reps.map((r) => r.cpuMsPerSession)),
          sessionsPerCoreS: summarize(reps.map((r) => r.sessionsPerCoreS)),
          redisCommandsPerSession: summarize(reps.map((r) => r.redisCommandsPerSession)),
          redisCpuMsPerSession: summarize(reps.map((r) => r.redisCpuMsPerSession)),
        },
      ]),
    );
    out.adminMs = adminMs;
    out.ownerCallMs = ownerMs;
  } finally {
    await second?.stop();
    await stopUnits(units, null);
    await redis.stop();
  }
  for (const k of Object.keys(out.serverErrors)) if (!MODES.includes(k)) delete out.serverErrors[k];
  if (Object.keys(out.serverErrors).length === 0) delete out.serverErrors;
  out.summary = summarizeCluster(out);
  const perMsg = (k) => out.steps.find((st) => st.step === k)?.cluster?.redisCommandsPerMsg?.median;
  const perSession = out.setup?.cluster?.redisCommandsPerSession?.median;
  const redisMs = out.setup?.cluster?.redisCpuMsPerSession?.median;
  if (perMsg('relay') != null)
    out.notes.push(
      `Redis commands per message in cluster mode, every command during the step (lease renewal and heartbeats included) over the messages: relay ${perMsg('relay').toFixed(4)}, audio ${perMsg('audio')?.toFixed(4) ?? 'n/a'}; per session set up: ${perSession?.toFixed(1) ?? 'n/a'} (redis-server CPU ${redisMs?.toFixed(2) ?? 'n/a'} ms per session; the resolution of /proc CPU time is 10 ms per sample)`,
    );
  out.table = tableOf(out);
  out.notes.push(
    'two instances of our server, "cluster" (REDIS_URL set, STORE=redis, its own redis-server) and "single" (no REDIS_URL, the embedded store); the baseline takes no part; the "Baseline" column of the summary holds the single mode',
    'CPU per message comes from every repeat (all repeats, quiet or not): a ratio of two CPU figures moves less with other tenants than latency does, but on a shared machine it still moves by several %; compare the two modes of the same run only',
  );
  return out;
}

async function untilNoSessions(ctx, u) {
  const t0 = Date.now();
  while (Date.now() - t0 < ctx.profile.graceMs + 10_000) {
    const rt = await runtime(u.server, ctx.secrets);
    if (rt?.sessions === 0) return;
    await sleep(100);
  }
  throw new Error('sessions still open 10 s after the grace period');
}

function summarizeCluster(out) {
  const rows = [];
  const cpu = (kind, m) => out.steps.find((s) => s.step === kind)?.[m]?.summaryAll?.cpuUsPerMsg?.median ?? null;
  for (const [kind, unit] of [
    ['relay', 'relayed event'],
    ['audio', 'forwarded audio frame'],
  ]) {
    const c = cpu(kind, 'cluster');
    const s = cpu(kind, 'single');
    // Repeat i of one mode ran right next to repeat i of the other: the median of those pairs' ratios is what
    // the verdict uses (a slow drift of the machine moves both halves of a pair alike); the ratio of medians is shown too.
    const st = out.steps.find((x) => x.step === kind);
    const cr = st?.cluster?.reps ?? [];
    const sr = st?.single?.reps ?? [];
    const pairs = [];
    for (let i = 0; i < Math.min(cr.length, sr.length); i++)
      if (cr[i].cpuUsPerMsg > 0 && sr[i].cpuUsPerMsg > 0) pairs.push(sr[i].cpuUsPerMsg / cr[i].cpuUsPerMsg);
    const paired = summarize(pairs);
    const eff = paired.median ?? (c && s ? s / c : null);
    if (st) st.pairedEfficiency = paired;
    rows.push({
      metric: `server CPU per ${unit} (µs, all repeats): Ours = cluster mode, Baseline column = single`,
      ours: c,
      baseline: s,
      oursValue: c,
      baselineValue: s,
      ratio: ratio(c, s),
      target: `efficiency (single ÷ cluster, median of paired repeats) ≥ ${EFFICIENCY_TARGET}${eff != null ? `: ${eff.toFixed(3)} [${paired.min?.toFixed(3)}–${paired.max?.toFixed(3)}], of medians ${c && s ? (s / c).toFixed(3) : 'n/a'}` : ''}`,
      met: eff != null ? eff >= EFFICIENCY_TARGET : null,
    });
  }
  const su = (m, f) => out.setup?.[m]?.[f]?.median ?? null;
  rows.push({
    metric: `session set-up, server CPU ms per session (${out.config.setupSessions} sessions per repeat; 1000 ÷ it = sessions/s per core): Ours = cluster, Baseline column = single`,
    ours: su('cluster', 'cpuMsPerSession'),
    baseline: su('single', 'cpuMsPerSession'),
    oursValue: su('cluster', 'cpuMsPerSession'),
    baselineValue: su('single', 'cpuMsPerSession'),
    ratio: ratio(su('cluster', 'cpuMsPerSession'), su('single', 'cpuMsPerSession')),
    target: '— (measurement)',
    met: null,
  });
  rows.push({
    metric: `session set-up rate, sessions/s at concurrency ${out.config.setupConcurrency}: Ours = cluster, Baseline column = single`,
    ours: su('cluster', 'sessionsPerS'),
    baseline: su('single', 'sessionsPerS'),
    oursValue: su('cluster', 'sessionsPerS'),
    baselineValue: su('single', 'sessionsPerS'),
    ratio: ratio(su('cluster', 'sessionsPerS'), su('single', 'sessionsPerS')),
    target: '— (measurement)',
    met: null,
  });
  const a = (m, f) => out.adminMs?.[m]?.[f] ?? null;
  rows.push({
    metric: `GET /api/admin/cluster p50 ms (p99): Ours = on the 2nd of 2 cluster processes (Redis read + node.info bus round trip to each), Baseline column = single process (local)`,
    ours: a('cluster', 'p50') == null ? null : `${a('cluster', 'p50')} (${a('cluster', 'p99')})`,
    baseline: a('single', 'p50') == null ? null : `${a('single', 'p50')} (${a('single', 'p99')})`,
    oursValue: a('cluster', 'p50'),
    baselineValue: a('single', 'p50'),
    ratio: ratio(a('cluster', 'p50'), a('single', 'p50')),
    target: '— (measurement)',
    met: null,
  });
  const o = (m, f) => out.ownerCallMs?.[m]?.[f] ?? null;
  rows.push({
    metric: `GET /api/admin/sessions/:user p50 ms (p99): Ours = on the process that does not hold the user (carried out by the owner over the bus), Baseline column = single process (local)`,
    ours: o('cluster', 'p50') == null ? null : `${o('cluster', 'p50')} (${o('cluster', 'p99')})`,
    baseline: o('single', 'p50') == null ? null : `${o('single', 'p50')} (${o('single', 'p99')})`,
    oursValue: o('cluster', 'p50'),
    baselineValue: o('single', 'p50'),
    ratio: ratio(o('cluster', 'p50'), o('single', 'p50')),
    target: '— (measurement)',
    met: null,
  });
  return { target: TARGETS.cluster, rows };
}

function tableOf(out) {
  const f = (x, d = 1) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  const mm = (s, d = 1) =>
    !s || s.median == null ? 'n/a' : s.n > 1 ? `${f(s.median, d)} [${f(s.min, d)}–${f(s.max, d)}]` : f(s.median, d);
  const head = ['Measure', 'Mode', 'Reps', 'Rate', 'Loss %', 'p99 ms', 'Server CPU %', 'CPU µs/msg (all reps)'];
  head.push('redis-server CPU %', 'Redis commands per message or session', 'Foreign CPU % srv/load core');
  head.push('Max core stall ms');
  const rows = [];
  for (const st of out.steps)
    for (const m of MODES) {
      const a = st[m];
      if (!a) continue;
      const S = a.summary;
      rows.push([
        st.label,
        m,
        `${a.reps.length}${a.noisyReps ? ` (${a.noisyReps} noisy)` : ''}`,
        mm(S.deliveredPerS, 0),
        mm(S.lossPct, 2),
        mm(S.p99, 2),
        mm(S.serverCpuPct, 0),
        mm(a.summaryAll.cpuUsPerMsg, 1),
        m === 'cluster' ? mm(a.redisCpuPct, 1) : '—',
        m === 'cluster' ? mm(a.redisCommandsPerMsg, 4) : '—',
        `${f(S.foreignServerCorePct?.median, 0)} / ${f(S.foreignLoadCorePct?.median, 0)}`,
        mm(S.maxStallMs, 0),
      ]);
    }
  for (const m of MODES) {
    const s = out.setup?.[m];
    if (!s) continue;
    rows.push([
      `session set-up, ${out.config.setupSessions} sessions`,
      m,
      String(s.reps.length),
      `${mm(s.sessionsPerS, 0)} sessions/s`,
      '—',
      '—',
      '—',
      `${mm(s.cpuMsPerSession, 2)} ms/session`,
      '—',
      m === 'cluster' ? mm(s.redisCommandsPerSession, 1) : '—',
      '—',
      '—',
    ]);
  }
  for (const m of MODES) {
    const a = out.adminMs?.[m];
    if (!a) continue;
    rows.push([
      `GET /api/admin/cluster (${a.nodes} node(s))`,
      m,
      String(a.count),
      `p50 ${f(a.p50, 2)} ms`,
      '—',
      f(a.p99, 2),
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
    ]);
  }
  for (const m of MODES) {
    const a = out.ownerCallMs?.[m];
    if (!a) continue;
    rows.push([
      `GET /api/admin/sessions/:user (answered by ${a.owners.join(', ')})`,
      m,
      String(a.count),
      `p50 ${f(a.p50, 2)} ms`,
      '—',
      f(a.p99, 2),
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
    ]);
  }
  return { head, rows };
}
