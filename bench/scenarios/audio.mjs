// Scenario 2 — audio: N users each streaming 16 kHz PCM16 as 3,200-byte binary frames 10 times a second
// (32 KB/s) to one audio_chunk subscriber; N stepped. Capacity = highest N with zero loss and p99 < 50 ms.
import { startUnits, stopUnits, measured, overBudget, guard, active } from '../lib/harness.mjs';
import { aggregate, capacity, ratio, capacityNotes, stepReps, pastCapacity, cpuRow } from './common.mjs';
import { TARGETS } from '../lib/config.mjs';

const PKG = 'com.bench.audio';

export async function run(ctx) {
  const cfg = ctx.profile.audio;
  const out = {
    scenario: 'audio',
    config: { ...cfg, frameBytes: 3200, framesPerSecondPerUser: 10 },
    steps: [],
    notes: [],
  };
  const units = await startUnits(ctx, out);
  let stepId = 0;
  const have = {};
  try {
    for (const kind of active(ctx, units))
      await guard(ctx, out, units, kind, (u) =>
        u.load.call('createApp', { packageName: PKG, subscriptions: ['audio_chunk'] }),
      );
    for (const users of cfg.steps) {
      if (active(ctx, units).length === 0) break;
      if (overBudget(ctx) && out.steps.length > 0) {
        out.notes.push(`time budget reached: steps from ${users} users on were skipped`);
        break;
      }
      for (const kind of active(ctx, units)) {
        if ((have[kind] ?? 0) >= users) continue;
        await guard(ctx, out, units, kind, async (u) => {
          const r = await u.load.call(
            'setup',
            { packageName: PKG, prefix: 'audio-', from: have[kind] ?? 0, to: users, concurrency: 64, maxMs: 120_000 },
            240_000,
          );
          ctx.log(`  ${kind}: ${r.sessions} sessions (setup ${r.ms} ms)`);
          have[kind] = users;
        });
      }
      const reps = await stepReps(ctx, out, units, cfg, async (u, rep) => {
        const r = await measured(
          ctx,
          u,
          'audio',
          { users, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs, drainMs: cfg.drainMs, stepId: ++stepId },
          120_000,
        );
        ctx.log(
          `  audio ${users} users ${u.kind} #${rep + 1}: ${r.deliveredPerS.toFixed(0)} frames/s loss ${r.lossPct.toFixed(2)}% p50 ${r.latency.p50} p99 ${r.latency.p99} ms, server CPU ${r.serverCpuPct?.toFixed(0)}%, load CPU ${r.loadCpuPct?.toFixed(0)}%, foreign ${r.foreignServerCorePct}/${r.foreignLoadCorePct}%, max stall ${r.maxStallMs} ms`,
        );
        return r;
      });
      const step = { step: users, label: `${users} users` };
      for (const k of active(ctx, units)) if (reps[k]?.length) step[k] = aggregate(reps[k]);
      out.steps.push(step);
      if (pastCapacity(ctx, units, out.steps)) break;
    }
  } finally {
    await stopUnits(units, ctx);
  }
  const cap = Object.fromEntries(
    ctx.kinds.filter((k) => out.steps.some((s) => s[k])).map((k) => [k, capacity(out.steps, k)]),
  );
  const fmt = (c) => (c == null ? null : c.value == null ? 'none passed' : `${c.atTop ? '≥ ' : ''}${c.value}`);
  const r = ratio(cap.ours?.value, cap.baseline?.value);
  const oursOk = cap.ours?.value != null && cap.ours.value >= 1000;
  out.summary = {
    target: TARGETS.audio,
    capacity: cap,
    rows: [
      {
        metric: 'capacity (users, 0 loss, p99 < 50 ms)',
        ours: fmt(cap.ours),
        baseline: fmt(cap.baseline),
        oursValue: cap.ours?.value ?? null,
        baselineValue: cap.baseline?.value ?? null,
        ratio: r,
        target: '≥ 0.9 × baseline and ≥ 1,000',
        met: cap.ours
          ? oursOk && (cap.baseline?.value == null || (cap.ours.value ?? 0) / cap.baseline.value >= 0.9)
          : null,
      },
      cpuRow(ctx, out, 'forwarded frame'),
    ],
  };
  out.notes.push(...capacityNotes(ctx, out, cap));
  return out;
}
