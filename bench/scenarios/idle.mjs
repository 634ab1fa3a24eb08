// Scenario 3 — idle sessions: N sessions (glasses + one running, subscribed app). Heap and RSS per session
// after GC; then every glasses socket closes, the (short) grace period passes, and the heap must return to
// within 5 % of where it started.
import { startUnits, stopUnits, orderFor, overBudget, sleep, guard, active } from '../lib/harness.mjs';
import { gcRuntime, runtime } from '../lib/proc.mjs';
import { summarizeFields, ratio } from '../lib/stats.mjs';
import { TARGETS } from '../lib/config.mjs';

const PKG = 'com.bench.idle';
const FIELDS = [
  'heapPerSessionKB',
  'rssPerSessionKB',
  'heapReturnPct',
  'setupMs',
  'sessionsAfter',
  'heapStartMB',
  'heapLoadedMB',
];

async function waitDrained(ctx, unit, timeoutMs) {
  const t0 = Date.now();
  let rt = null;
  while (Date.now() - t0 < timeoutMs) {
    rt = await runtime(unit.server, ctx.secrets);
    if (rt && rt.sessions === 0 && (rt.glassesSockets ?? 0) === 0 && (rt.appSockets ?? 0) === 0) break;
    await sleep(100);
  }
  return rt;
}

/** Closes every glasses socket, lets the grace period end the sessions and waits until the server is drained. */
/** Sets up `count` sessions once and takes them down: lazy code paths run once, so what follows measures a warm process. */
export async function warmUp(ctx, unit, { packageName, prefix, count, concurrency }) {
  await unit.load.call('setup', { packageName, prefix, from: 0, to: count, concurrency, maxMs: 30_000 }, 90_000);
  await cycleDown(ctx, unit);
}

export async function cycleDown(ctx, unit) {
  await unit.load.call('closeAll', {}, 60_000);
  await sleep(ctx.profile.graceMs + 200);
  const apps = await unit.load.call('waitAppsClosed', { timeoutMs: 10_000 }, 20_000);
  const rt = await waitDrained(ctx, unit, 10_000);
  // pooled keep-alive webhook connections (closed by the app side after keepAliveMs) and other transient pools settle
  await sleep(Math.max((ctx.profile.keepAliveMs ?? 1000) + 200, ctx.profile.heapSettleMs ?? 0));
  return { appsStillOpen: apps.open, rt };
}

export async function run(ctx) {
  const cfg = ctx.profile.idle;
  const out = { scenario: 'idle', config: { ...cfg, graceMs: ctx.profile.graceMs }, steps: [], notes: [] };
  for (const size of cfg.steps) {
    if (overBudget(ctx) && out.steps.length > 0) {
      out.notes.push(`time budget reached: size ${size} skipped`);
      break;
    }
    const units = await startUnits(ctx, out);
    const reps = {};
    try {
      for (const kind of active(ctx, units)) {
        await guard(ctx, out, units, kind, async (u) => {
          await u.load.call('createApp', { packageName: PKG, subscriptions: ['button_press', 'head_position'] });
          // the start heap is then a steady state rather than a cold process
          await warmUp(ctx, u, { packageName: PKG, prefix: 'warm-', count: cfg.warmup, concurrency: 64 });
        });
      }
      for (let rep = 0; rep < ctx.repeat; rep++) {
        for (const kind of orderFor(ctx, rep, units)) {
          await guard(ctx, out, units, kind, async (u) => {
            const prefix = `idle${rep}-`;
            await u.load.call('install', { packageName: PKG, prefix, from: 0, to: size, concurrency: 32 }, 300_000);
            const h0 = await gcRuntime(u.server, ctx.secrets);
            const maxMs = Math.max(20_000, size * 12); // time cap on the setup; the per-session figures use what was set up
            const s = await u.load.call(
              'setup',
              { packageName: PKG, prefix, from: 0, to: size, concurrency: 64, maxMs, install: false },
              maxMs + 120_000,
            );
            const n = s.added;
            if (n === 0) throw new Error('idle: no session could be set up');
            await sleep(200);
            const h1 = await gcRuntime(u.server, ctx.secrets);
            const down = await cycleDown(ctx, u);
            const h2 = await gcRuntime(u.server, ctx.secrets);
            for (const h of [h0, h1, h2])
              if (typeof h.heapUsed !== 'number')
                throw new Error(`GET /api/admin/runtime?gc=1 gave no heapUsed: ${JSON.stringify(h).slice(0, 300)}`);
            const r = {
              sessions: n,
              requested: size,
              setupCapped: s.capped,
              setupMs: s.ms,
              sessionsLoaded: h1.sessions ?? null,
              glassesSocketsLoaded: h1.glassesSockets ?? null,
              appSocketsLoaded: h1.appSockets ?? null,
              heapStartMB: h0.heapUsed / 1048576,
              heapLoadedMB: h1.heapUsed / 1048576,
              heapEndMB: h2.heapUsed / 1048576,
              rssStartMB: h0.rss / 1048576,
              rssLoadedMB: h1.rss / 1048576,
              heapPerSessionKB: (h1.heapUsed - h0.heapUsed) / n / 1024,
              rssPerSessionKB: (h1.rss - h0.rss) / n / 1024,
              heapReturnPct: ((h2.heapUsed - h0.heapUsed) / h0.heapUsed) * 100,
              sessionsAfter: h2.sessions ?? null,
              glassesSocketsAfter: h2.glassesSockets ?? null,
              appSocketsAfter: h2.appSockets ?? null,
              appsStillOpenAtClient: down.appsStillOpen,
            };
            (reps[kind] ??= []).push(r);
            ctx.log(
              `  idle ${size} ${kind} #${rep + 1}: ${s.capped ? `setup time cap: ${n} of ${size} sessions; ` : ''}${r.heapPerSessionKB.toFixed(1)} KB heap/session, ${r.rssPerSessionKB.toFixed(1)} KB RSS/session, heap after close ${r.heapReturnPct >= 0 ? '+' : ''}${r.heapReturnPct.toFixed(1)}% (sessions left ${r.sessionsAfter}), setup ${r.setupMs} ms`,
            );
          });
        }
      }
    } finally {
      await stopUnits(units, ctx);
    }
    const step = { step: size, label: `${size} sessions` };
    for (const k of ctx.kinds) {
      if (!reps[k]?.length) continue;
      const summary = summarizeFields(reps[k], FIELDS);
      const perOk = summary.heapPerSessionKB.median != null && summary.heapPerSessionKB.median <= 100;
      const backOk = summary.heapReturnPct.median <= 5 && reps[k].every((r) => r.sessionsAfter === 0);
      step[k] = {
        reps: reps[k],
        summary,
        pass: perOk && backOk,
        why: [...(perOk ? [] : ['> 100 KB/session']), ...(backOk ? [] : ['heap not back within 5 % or sessions left'])],
      };
    }
    out.steps.push(step);
  }
  const last = out.steps.at(-1);
  const med = (k, f) => last?.[k]?.summary[f].median ?? null;
  const maxReturn = (k) =>
    last?.[k] ? Math.max(...out.steps.flatMap((s) => s[k]?.reps.map((r) => r.heapReturnPct) ?? [])) : null;
  const medReturn = (k) =>
    last?.[k] ? Math.max(...out.steps.map((s) => s[k]?.summary.heapReturnPct.median ?? -Infinity)) : null;
  const leftover = (k) =>
    last?.[k] ? out.steps.flatMap((s) => s[k]?.reps ?? []).some((r) => r.sessionsAfter !== 0) : null;
  const rows = [
    {
      metric: `heap per idle session (KB, ${last?.step ?? '?'} sessions, median)`,
      ours: med('ours', 'heapPerSessionKB'),
      baseline: med('baseline', 'heapPerSessionKB'),
      ratio: ratio(med('ours', 'heapPerSessionKB'), med('baseline', 'heapPerSessionKB')),
      target: '≤ 100 KB',
      met: med('ours', 'heapPerSessionKB') != null ? med('ours', 'heapPerSessionKB') <= 100 : null,
    },
    {
      metric: `RSS per idle session (KB, ${last?.step ?? '?'} sessions, median)`,
      ours: med('ours', 'rssPerSessionKB'),
      baseline: med('baseline', 'rssPerSessionKB'),
      ratio: ratio(med('ours', 'rssPerSessionKB'), med('baseline', 'rssPerSessionKB')),
      target: '—',
      met: null,
    },
    {
      metric: 'heap after close + grace vs start (% — median over repeats [worst repeat], worst size)',
      ours: last?.ours ? `${medReturn('ours').toFixed(1)} [${maxReturn('ours').toFixed(1)}]` : null,
      baseline: last?.baseline ? `${medReturn('baseline').toFixed(1)} [${maxReturn('baseline').toFixed(1)}]` : null,
      oursValue: medReturn('ours'),
      baselineValue: medReturn('baseline'),
      ratio: null,
      target: '≤ +5 % (median), 0 sessions left',
      met: last?.ours ? medReturn('ours') <= 5 && !leftover('ours') : null,
    },
  ];
  out.summary = { target: TARGETS.idle, rows };
  return out;
}
