// Scenario 2 — audio: N users each streaming 16 kHz PCM16 as 3,200-byte binary frames 10 times a second
// (32 KB/s) to one audio_chunk subscriber; N stepped. Capacity = highest N with zero loss and p99 < 50 ms.
import { startUnits, stopUnits, orderFor, measured, overBudget, sleep } from '../lib/harness.mjs';
import { aggregate, capacity, ratio } from './common.mjs';
import { TARGETS } from '../lib/config.mjs';

const PKG = 'com.bench.audio';

export async function run(ctx) {
  const cfg = ctx.profile.audio;
  const out = { scenario: 'audio', config: { ...cfg, frameBytes: 3200, framesPerSecondPerUser: 10 }, steps: [], notes: [] };
  const units = await startUnits(ctx);
  let stepId = 0;
  const have = Object.fromEntries(ctx.kinds.map((k) => [k, 0]));
  try {
    for (const u of Object.values(units)) await u.load.call('createApp', { packageName: PKG, subscriptions: ['audio_chunk'] });
    for (const users of cfg.steps) {
      if (overBudget(ctx)) {
        out.notes.push(`time budget reached: steps from ${users} users on were skipped`);
        break;
      }
      for (const u of Object.values(units)) {
        if (have[u.kind] >= users) continue;
        const r = await u.load.call('setup', { packageName: PKG, prefix: 'audio-', from: have[u.kind], to: users, concurrency: 64 }, 300_000);
        ctx.log(`  ${u.kind}: ${r.sessions} sessions (setup ${r.ms} ms)`);
        have[u.kind] = users;
      }
      const reps = Object.fromEntries(ctx.kinds.map((k) => [k, []]));
      for (let rep = 0; rep < ctx.repeat; rep++) {
        for (const kind of orderFor(ctx, rep)) {
          const r = await measured(ctx, units[kind], 'audio', { users, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs, drainMs: cfg.drainMs, stepId: ++stepId }, 120_000);
          reps[kind].push(r);
          ctx.log(`  audio ${users} users ${kind} #${rep + 1}: ${r.deliveredPerS.toFixed(0)} frames/s loss ${r.lossPct.toFixed(2)}% p50 ${r.latency.p50} p99 ${r.latency.p99} ms, server CPU ${r.serverCpuPct?.toFixed(0)}%, load CPU ${r.loadCpuPct?.toFixed(0)}%`);
          await sleep(cfg.settleMs);
        }
      }
      const step = { step: users, label: `${users} users` };
      for (const k of ctx.kinds) step[k] = aggregate(reps[k]);
      out.steps.push(step);
      if (ctx.kinds.every((k) => !step[k].pass)) break;
    }
  } finally {
    await stopUnits(units);
  }
  const cap = Object.fromEntries(ctx.kinds.map((k) => [k, capacity(out.steps, k)]));
  const fmt = (c) => (c == null ? null : c.value == null ? 'none passed' : `${c.atTop ? '≥ ' : ''}${c.value}`);
  const r = ratio(cap.ours?.value, cap.baseline?.value);
  const oursOk = cap.ours?.value != null && cap.ours.value >= 1000;
  out.summary = {
    target: TARGETS.audio,
    capacity: cap,
    rows: [{
      metric: 'capacity (users, 0 loss, p99 < 50 ms)',
      ours: fmt(cap.ours),
      baseline: fmt(cap.baseline),
      oursValue: cap.ours?.value ?? null,
      baselineValue: cap.baseline?.value ?? null,
      ratio: r,
      target: '≥ 0.9 × baseline and ≥ 1,000',
      met: cap.ours && cap.baseline ? r != null && r >= 0.9 && oursOk : cap.ours ? oursOk : null,
    }],
  };
  if (Object.values(cap).some((c) => c.atTop)) out.notes.push('a capacity marked ≥ passed the highest step run; its real capacity may be higher');
  if (out.steps.some((s) => ctx.kinds.some((k) => s[k]?.loadLimited))) out.notes.push('some steps were limited by the load generator (below 95 % of the offered rate); they count as not passed');
  return out;
}
