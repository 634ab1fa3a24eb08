// Scenario 5 — churn: connect → start app → stop → disconnect cycles at a fixed offered rate for a fixed
// count; afterwards (grace passed) zero sessions, zero sockets, heap back within 5 % of the start.
import { startUnits, stopUnits, orderFor, sleep, guard, active } from '../lib/harness.mjs';
import { gcRuntime, runtime, cpuMs } from '../lib/proc.mjs';
import { summarize, ratio } from '../lib/stats.mjs';
import { TARGETS } from '../lib/config.mjs';

const PKG = 'com.bench.churn';

async function settle(ctx, u) {
  await sleep(ctx.profile.graceMs + 300);
  await u.load.call('waitAppsClosed', { timeoutMs: 10_000 }, 20_000);
  const t0 = Date.now();
  let rt = null;
  while (Date.now() - t0 < 10_000) {
    rt = await runtime(u.server, ctx.secrets);
    if (rt && rt.sessions === 0 && (rt.glassesSockets ?? 0) === 0 && (rt.appSockets ?? 0) === 0) break;
    await sleep(100);
  }
  // pooled keep-alive webhook connections (closed by the app side after keepAliveMs) and other transient pools settle
  await sleep(Math.max((ctx.profile.keepAliveMs ?? 1000) + 200, ctx.profile.heapSettleMs ?? 0));
  return rt;
}

export async function run(ctx) {
  const cfg = ctx.profile.churn;
  const count = cfg.steps[0];
  const out = {
    scenario: 'churn',
    config: { ...cfg, cycles: count, graceMs: ctx.profile.graceMs },
    steps: [],
    notes: [],
  };
  const units = await startUnits(ctx, out);
  const reps = {};
  try {
    for (const kind of active(ctx, units)) {
      await guard(ctx, out, units, kind, async (u) => {
        await u.load.call('createApp', { packageName: PKG, subscriptions: ['button_press'] });
        await u.load.call('install', { packageName: PKG, prefix: 'cw-', from: 0, to: cfg.warmup });
        for (let rep = 0; rep < ctx.repeat; rep++)
          await u.load.call('install', { packageName: PKG, prefix: `c${rep}-`, from: 0, to: count }, 300_000);
        const w = await u.load.call(
          'churn',
          { packageName: PKG, prefix: 'cw-', count: cfg.warmup, rate: cfg.rate, concurrency: cfg.concurrency },
          120_000,
        );
        if (w.completed === 0) throw new Error(`warm-up churn failed: ${w.errors.join(' | ')}`);
        await settle(ctx, u);
      });
    }
    for (let rep = 0; rep < ctx.repeat; rep++) {
      for (const kind of orderFor(ctx, rep, units)) {
        await guard(ctx, out, units, kind, async (u) => {
          const h0 = await gcRuntime(u.server, ctx.secrets);
          const c0 = cpuMs(u.server.pid);
          const t0 = Date.now();
          const maxMs = Math.max(5000, (count / cfg.rate) * 2500);
          const c = await u.load.call(
            'churn',
            { packageName: PKG, prefix: `c${rep}-`, count, rate: cfg.rate, concurrency: cfg.concurrency, maxMs },
            maxMs + 60_000,
          );
          const cpuPct = ((cpuMs(u.server.pid) - c0) / (Date.now() - t0)) * 100;
          const rt = await settle(ctx, u);
          const h1 = await gcRuntime(u.server, ctx.secrets);
          if (typeof h0.heapUsed !== 'number' || typeof h1.heapUsed !== 'number')
            throw new Error(`GET /api/admin/runtime?gc=1 gave no heapUsed: ${JSON.stringify(h1).slice(0, 300)}`);
          const r = {
            cycles: count,
            started: c.started,
            capped: c.capped,
            completed: c.completed,
            failed: c.failed,
            errors: c.errors,
            cyclesPerS: c.cyclesPerS,
            p50: c.latency.p50,
            p99: c.latency.p99,
            max: c.latency.max,
            phasesP50: c.phasesP50,
            phasesP99: c.phasesP99,
            connectP50: c.phasesP50?.connect,
            startP50: c.phasesP50?.start,
            stopP50: c.phasesP50?.stop,
            disconnectP50: c.phasesP50?.disconnect,
            serverCpuPct: cpuPct,
            sessionsAfter: h1.sessions ?? rt?.sessions ?? null,
            glassesSocketsAfter: h1.glassesSockets ?? null,
            appSocketsAfter: h1.appSockets ?? null,
            heapStartMB: h0.heapUsed / 1048576,
            heapEndMB: h1.heapUsed / 1048576,
            heapGrowthPct: ((h1.heapUsed - h0.heapUsed) / h0.heapUsed) * 100,
          };
          (reps[kind] ??= []).push(r);
          ctx.log(
            `  churn ${count} ${kind} #${rep + 1}: ${r.capped ? `time cap: ${r.started} of ${count} started; ` : ''}${r.cyclesPerS.toFixed(1)} cycles/s, cycle p50 ${r.p50} p99 ${r.p99} ms (p50 connect ${r.connectP50} / start ${r.startP50} / stop ${r.stopP50} / close ${r.disconnectP50}), failed ${r.failed}; after: sessions ${r.sessionsAfter}, glasses ${r.glassesSocketsAfter}, apps ${r.appSocketsAfter}, heap ${r.heapGrowthPct >= 0 ? '+' : ''}${r.heapGrowthPct.toFixed(1)}%${r.failed ? ` — ${r.errors[0]}` : ''}`,
          );
        });
      }
    }
  } finally {
    await stopUnits(units, ctx);
  }
  const step = { step: count, label: `${count} cycles at ${cfg.rate}/s` };
  const F = [
    'started',
    'cyclesPerS',
    'p50',
    'p99',
    'max',
    'connectP50',
    'startP50',
    'stopP50',
    'disconnectP50',
    'failed',
    'serverCpuPct',
    'sessionsAfter',
    'glassesSocketsAfter',
    'appSocketsAfter',
    'heapGrowthPct',
  ];
  for (const k of ctx.kinds) {
    if (!reps[k]?.length) continue;
    const summary = Object.fromEntries(F.map((f) => [f, summarize(reps[k].map((r) => r[f]))]));
    const clean = reps[k].every((r) => r.sessionsAfter === 0 && r.glassesSocketsAfter === 0 && r.appSocketsAfter === 0);
    const heapOk = summary.heapGrowthPct.median <= 5;
    const noFail = reps[k].every((r) => r.failed === 0);
    if (reps[k].some((r) => r.capped))
      out.notes.push(
        `${k}: some repeats hit the time cap (${Math.max(5000, (count / cfg.rate) * 2500) / 1000} s) before all ${count} cycles started; cycles/s is over the cycles that ran`,
      );
    step[k] = {
      reps: reps[k],
      summary,
      pass: clean && heapOk && noFail,
      why: [
        ...(clean ? [] : ['sessions/sockets left']),
        ...(heapOk ? [] : ['heap grew > 5 %']),
        ...(noFail ? [] : ['failed cycles']),
      ],
    };
  }
  out.steps.push(step);
  const m = (k, f) => step[k]?.summary[f].median ?? null;
  const worst = (k, f) => (step[k] ? Math.max(...step[k].reps.map((r) => r[f] ?? Infinity)) : null);
  const left = (k) =>
    step[k]
      ? `${worst(k, 'sessionsAfter')} / ${worst(k, 'glassesSocketsAfter')} / ${worst(k, 'appSocketsAfter')}`
      : null;
  out.summary = {
    target: TARGETS.churn,
    rows: [
      {
        metric: `cycles/s achieved (offered ${cfg.rate}/s) and cycle p99 (ms)`,
        ours: step.ours ? `${m('ours', 'cyclesPerS')?.toFixed(1)} / ${m('ours', 'p99')}` : null,
        baseline: step.baseline ? `${m('baseline', 'cyclesPerS')?.toFixed(1)} / ${m('baseline', 'p99')}` : null,
        oursValue: m('ours', 'p99'),
        baselineValue: m('baseline', 'p99'),
        ratio: ratio(m('ours', 'p99'), m('baseline', 'p99')),
        target: '—',
        met: null,
      },
      {
        metric: 'after churn: sessions / glasses sockets / app sockets (worst)',
        ours: left('ours'),
        baseline: left('baseline'),
        ratio: null,
        target: '0 / 0 / 0',
        met: step.ours
          ? step.ours.reps.every(
              (r) => r.sessionsAfter === 0 && r.glassesSocketsAfter === 0 && r.appSocketsAfter === 0 && r.failed === 0,
            )
          : null,
      },
      {
        metric: 'heap after churn vs start (% — median over repeats [worst repeat])',
        ours: step.ours
          ? `${m('ours', 'heapGrowthPct').toFixed(1)} [${worst('ours', 'heapGrowthPct').toFixed(1)}]`
          : null,
        baseline: step.baseline
          ? `${m('baseline', 'heapGrowthPct').toFixed(1)} [${worst('baseline', 'heapGrowthPct').toFixed(1)}]`
          : null,
        oursValue: m('ours', 'heapGrowthPct'),
        baselineValue: m('baseline', 'heapGrowthPct'),
        ratio: null,
        target: '≤ +5 % (median)',
        met: step.ours ? m('ours', 'heapGrowthPct') <= 5 : null,
      },
    ],
  };
  return out;
}
