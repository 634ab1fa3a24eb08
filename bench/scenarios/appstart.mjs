// Scenario 4 — app start: from the glasses' start_app to the real @mentra/sdk AppServer's tpa_connection_ack
// (its onSession runs right after the ack), minus the floor: the same path through a bare stub cloud that
// posts the webhook and acks the init with no logic at all. The difference is the cloud's own overhead.
import { startUnits, stopUnits, orderFor, sleep, guard, active } from '../lib/harness.mjs';
import { startServer } from '../lib/proc.mjs';
import { summarize, ratio, r3 } from '../lib/stats.mjs';
import { TARGETS } from '../lib/config.mjs';

const PKG = 'com.bench.sdkapp';

export async function run(ctx) {
  const cfg = ctx.profile.appstart;
  const count = cfg.steps[0];
  const out = { scenario: 'appstart', config: { ...cfg, starts: count }, steps: [], notes: [] };
  const stub = await startServer('stub', { plan: ctx.plan, secrets: ctx.secrets });
  const units = await startUnits(ctx, out).catch(async (e) => {
    await stub.stop();
    throw e;
  });
  const reps = {};
  try {
    for (const kind of active(ctx, units)) {
      await guard(ctx, out, units, kind, async (u) => {
        const { port } = await u.load.call('sdkFreePort');
        const { apiKey } = await u.load.call('createApp', {
          packageName: PKG,
          publicUrl: `http://127.0.0.1:${port}`,
          subscriptions: [],
        });
        await u.load.call('sdkStart', { packageName: PKG, apiKey, port }, 30_000);
        await u.load.call('install', { packageName: PKG, prefix: 'asw-', from: 0, to: cfg.warmup });
        for (let rep = 0; rep < ctx.repeat; rep++)
          await u.load.call('install', { packageName: PKG, prefix: `as${rep}-`, from: 0, to: count });
        // warm-up (not recorded): both paths once
        const w1 = await u.load.call(
          'appStart',
          { mode: 'cloud', packageName: PKG, prefix: 'asw-', count: cfg.warmup },
          60_000,
        );
        const w2 = await u.load.call(
          'appStart',
          { mode: 'floor', packageName: PKG, prefix: 'flw-', count: cfg.warmup, stubWsBase: stub.wsBase },
          60_000,
        );
        if (w1.completed === 0) throw new Error(`warm-up app start failed: ${w1.errors.join(' | ')}`);
        if (w2.completed === 0) throw new Error(`warm-up floor start failed: ${w2.errors.join(' | ')}`);
      });
    }
    for (let rep = 0; rep < ctx.repeat; rep++) {
      for (const kind of orderFor(ctx, rep, units)) {
        await guard(ctx, out, units, kind, async (u) => {
          const timeout = 30_000 + count * 12_000;
          const floor = await u.load.call(
            'appStart',
            { mode: 'floor', packageName: PKG, prefix: `fl${rep}-`, count, stubWsBase: stub.wsBase },
            timeout,
          );
          const cloud = await u.load.call(
            'appStart',
            { mode: 'cloud', packageName: PKG, prefix: `as${rep}-`, count },
            timeout,
          );
          const r = {
            starts: count,
            completed: cloud.completed,
            failed: cloud.failed,
            errors: cloud.errors,
            p50: cloud.latency.p50,
            p99: cloud.latency.p99,
            max: cloud.latency.max,
            floorP50: floor.latency.p50,
            floorP99: floor.latency.p99,
            floorFailed: floor.failed,
            overheadP50:
              cloud.latency.p50 != null && floor.latency.p50 != null ? r3(cloud.latency.p50 - floor.latency.p50) : null,
            overheadP99:
              cloud.latency.p99 != null && floor.latency.p99 != null ? r3(cloud.latency.p99 - floor.latency.p99) : null,
          };
          (reps[kind] ??= []).push(r);
          ctx.log(
            `  appstart ${kind} #${rep + 1}: start_app→ack p50 ${r.p50} p99 ${r.p99} ms; floor p50 ${r.floorP50} p99 ${r.floorP99} ms; overhead p50 ${r.overheadP50} ms${r.failed ? `; ${r.failed} failed: ${r.errors[0]}` : ''}`,
          );
        });
        await sleep(100);
      }
    }
  } finally {
    await stopUnits(units, ctx);
    await stub.stop();
  }
  const step = { step: count, label: `${count} sequential starts` };
  const F = ['p50', 'p99', 'max', 'floorP50', 'floorP99', 'overheadP50', 'overheadP99', 'failed'];
  for (const k of ctx.kinds) {
    if (!reps[k]?.length) continue;
    const summary = Object.fromEntries(F.map((f) => [f, summarize(reps[k].map((r) => r[f]))]));
    const ok =
      summary.overheadP50.median != null && summary.overheadP50.median <= 5 && reps[k].every((r) => r.failed === 0);
    step[k] = { reps: reps[k], summary, pass: ok, why: ok ? [] : ['overhead p50 > 5 ms or failed starts'] };
  }
  out.steps.push(step);
  const m = (k, f) => step[k]?.summary[f].median ?? null;
  out.summary = {
    target: TARGETS.appstart,
    rows: [
      {
        metric: 'start_app → tpa_connection_ack p50 / p99 (ms)',
        ours: step.ours ? `${m('ours', 'p50')} / ${m('ours', 'p99')}` : null,
        baseline: step.baseline ? `${m('baseline', 'p50')} / ${m('baseline', 'p99')}` : null,
        oursValue: m('ours', 'p50'),
        baselineValue: m('baseline', 'p50'),
        ratio: ratio(m('ours', 'p50'), m('baseline', 'p50')),
        target: '—',
        met: null,
      },
      {
        metric: 'cloud overhead p50 / p99 (ms, minus bare webhook+WS floor)',
        ours: step.ours ? `${m('ours', 'overheadP50')} / ${m('ours', 'overheadP99')}` : null,
        baseline: step.baseline ? `${m('baseline', 'overheadP50')} / ${m('baseline', 'overheadP99')}` : null,
        oursValue: m('ours', 'overheadP50'),
        baselineValue: m('baseline', 'overheadP50'),
        ratio: m('baseline', 'overheadP50') > 0 ? ratio(m('ours', 'overheadP50'), m('baseline', 'overheadP50')) : null,
        target: '≤ 5 ms at p50',
        met: step.ours ? step.ours.pass : null,
      },
    ],
  };
  out.notes.push(
    `floor: same load process, same SDK AppServer, bare stub cloud (pinned like the servers); floor p50 median ${summarize(ctx.kinds.flatMap((k) => reps[k]?.map((r) => r.floorP50) ?? [])).median} ms`,
  );
  return out;
}
