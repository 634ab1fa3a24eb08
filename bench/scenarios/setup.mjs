// Scenario — set-up: N sessions (glasses + one running, subscribed app each) set up with `concurrency` (50) in
// flight, as after a restart or in a morning rush: the total time, and each start's latency (start_app → app acked
// and subscribed) with that many in flight. The idle scenario's session set-up and tear-down, timed.
import { startUnits, stopUnits, orderFor, guard, active } from '../lib/harness.mjs';
import { cpuMs } from '../lib/proc.mjs';
import { summarize, ratio } from '../lib/stats.mjs';
import { TARGETS } from '../lib/config.mjs';
import { cycleDown, warmUp } from './idle.mjs';

const PKG = 'com.bench.setup';
const F = [
  'setupMs',
  'sessionsPerS',
  'startP50',
  'startP99',
  'connectP50',
  'connectP99',
  'serverCpuPct',
  'loadCpuPct',
  'sessions',
];

export async function run(ctx) {
  const cfg = ctx.profile.setup;
  const size = cfg.steps[0];
  const conc = cfg.concurrency;
  const out = { scenario: 'setup', config: { ...cfg, sessions: size }, steps: [], notes: [] };
  const units = await startUnits(ctx, out);
  const reps = {};
  try {
    for (const kind of active(ctx, units)) {
      await guard(ctx, out, units, kind, async (u) => {
        await u.load.call('createApp', { packageName: PKG, subscriptions: ['button_press', 'head_position'] });
        await warmUp(ctx, u, { packageName: PKG, prefix: 'sw-', count: cfg.warmup, concurrency: conc });
      });
    }
    for (let rep = 0; rep < ctx.repeat; rep++) {
      for (const kind of orderFor(ctx, rep, units)) {
        await guard(ctx, out, units, kind, async (u) => {
          const prefix = `su${rep}-`;
          await u.load.call('install', { packageName: PKG, prefix, from: 0, to: size, concurrency: 32 }, 300_000);
          const maxMs = Math.max(20_000, size * 12);
          const c0 = cpuMs(u.server.pid);
          const l0 = cpuMs(u.load.pid);
          const s = await u.load.call(
            'setup',
            { packageName: PKG, prefix, from: 0, to: size, concurrency: conc, maxMs, install: false },
            maxMs + 120_000,
          );
          // the CPU window includes the 300 ms the load side waits for the last subscription_update
          const cpuWindow = s.ms;
          const r = {
            sessions: s.added,
            capped: s.capped,
            setupMs: s.sessionsMs,
            sessionsPerS: s.added / (s.sessionsMs / 1000),
            startP50: s.start.p50,
            startP99: s.start.p99,
            connectP50: s.connect.p50,
            connectP99: s.connect.p99,
            serverCpuPct: ((cpuMs(u.server.pid) - c0) / cpuWindow) * 100,
            loadCpuPct: ((cpuMs(u.load.pid) - l0) / cpuWindow) * 100,
          };
          if (s.added === 0) throw new Error('setup: no session could be set up');
          (reps[kind] ??= []).push(r);
          ctx.log(
            `  setup ${size} ${kind} #${rep + 1}: ${s.capped ? `time cap: ${s.added} of ${size}; ` : ''}${(r.setupMs / 1000).toFixed(2)} s (${r.sessionsPerS.toFixed(0)}/s), start p50 ${r.startP50} p99 ${r.startP99} ms, connect p50 ${r.connectP50} p99 ${r.connectP99} ms, server CPU ${r.serverCpuPct.toFixed(0)}%, load CPU ${r.loadCpuPct.toFixed(0)}%`,
          );
          await cycleDown(ctx, u);
        });
      }
    }
  } finally {
    await stopUnits(units, ctx);
  }
  const step = { step: size, label: `${size} sessions, ${conc} in flight` };
  for (const k of ctx.kinds) {
    if (!reps[k]?.length) continue;
    const summary = Object.fromEntries(F.map((f) => [f, summarize(reps[k].map((r) => r[f]))]));
    const all = reps[k].every((r) => !r.capped && r.sessions === size);
    step[k] = { reps: reps[k], summary, pass: all, why: all ? [] : ['not every session was set up'] };
  }
  out.steps.push(step);
  const m = (k, f) => step[k]?.summary[f].median ?? null;
  const timeRatio = ratio(m('ours', 'setupMs'), m('baseline', 'setupMs'));
  const p99Ratio = ratio(m('ours', 'startP99'), m('baseline', 'startP99'));
  const pair = (k, a, b) => (step[k] ? `${m(k, a)} / ${m(k, b)}` : null);
  out.summary = {
    target: TARGETS.setup,
    rows: [
      {
        metric: `${size} sessions set up (glasses + one running app each), ${conc} in flight (s)`,
        ours: m('ours', 'setupMs') != null ? m('ours', 'setupMs') / 1000 : null,
        baseline: m('baseline', 'setupMs') != null ? m('baseline', 'setupMs') / 1000 : null,
        ratio: timeRatio,
        target: '≤ 1.5 × baseline',
        met: timeRatio != null ? timeRatio <= 1.5 && !!step.ours?.pass : null,
      },
      {
        metric: `start_app → app acked + subscribed p50 / p99 with ${conc} in flight (ms)`,
        ours: pair('ours', 'startP50', 'startP99'),
        baseline: pair('baseline', 'startP50', 'startP99'),
        oursValue: m('ours', 'startP99'),
        baselineValue: m('baseline', 'startP99'),
        ratio: p99Ratio,
        target: 'p99 ≤ 3 × baseline',
        met: p99Ratio != null ? p99Ratio <= 3 : null,
      },
      {
        metric: 'server CPU during the set-up (% of a core)',
        ours: m('ours', 'serverCpuPct'),
        baseline: m('baseline', 'serverCpuPct'),
        ratio: ratio(m('ours', 'serverCpuPct'), m('baseline', 'serverCpuPct')),
        target: '—',
        met: null,
      },
    ],
  };
  return out;
}
