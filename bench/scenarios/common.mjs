// Step aggregation shared by the stepped scenarios.
import { summarizeFields, summarize, ratio } from '../lib/stats.mjs';

export const STEP_FIELDS = ['offeredPerS', 'deliveredPerS', 'lossPct', 'achievedPct', 'p50', 'p95', 'p99', 'max', 'serverCpuPct', 'loadCpuPct', 'eldP99Ms', 'serverRssMB'];

export function flatten(rep) {
  return { ...rep, p50: rep.latency?.p50, p95: rep.latency?.p95, p99: rep.latency?.p99, max: rep.latency?.max };
}

/**
 * A step passes for a server when every repeat had zero loss, no misrouted message, the load generator reached
 * ≥ 95 % of the offered rate (otherwise the step proves nothing), and the median p99 is below 50 ms.
 */
export function judgeStep(reps) {
  const s = summarize(reps.map((r) => r.p99));
  const zeroLoss = reps.every((r) => r.lost === 0);
  const routed = reps.every((r) => !r.misrouted && !r.wrongEnvelope);
  const reached = reps.every((r) => r.achievedPct >= 95);
  const p99ok = s.median != null && s.median < 50;
  const why = [];
  if (!zeroLoss) why.push('loss');
  if (!routed) why.push('misrouted');
  if (!reached) why.push('load generator below 95 % of offered rate');
  if (!p99ok) why.push('p99 ≥ 50 ms');
  return { pass: zeroLoss && routed && reached && p99ok, why, loadLimited: !reached };
}

export function aggregate(repsRaw) {
  const reps = repsRaw.map(flatten);
  return { reps, summary: summarizeFields(reps, STEP_FIELDS), ...judgeStep(reps) };
}

/** Highest passing step; `atTop` when that was the last step run (true capacity may be higher). */
export function capacity(steps, kind) {
  let best = null;
  for (const s of steps) if (s[kind]?.pass) best = s.step;
  const last = steps.filter((s) => s[kind]).at(-1);
  return { value: best, atTop: best != null && last?.step === best && last[kind].pass };
}

export { ratio };

export function capacityNotes(ctx, out, cap) {
  const notes = [];
  if (Object.values(cap).some((c) => c.atTop)) notes.push('a capacity marked ≥ passed the highest step run; its real capacity may be higher');
  if (out.steps.some((s) => ctx.kinds.some((k) => s[k]?.loadLimited))) notes.push('some steps were limited by the load generator (below 95 % of the offered rate); they count as not passed');
  return notes;
}
