// Step aggregation shared by the stepped scenarios.
import { summarizeFields, summarize, median, ratio } from '../lib/stats.mjs';
import { orderFor, guard, active, sleep, waitQuiet, overBudget } from '../lib/harness.mjs';

export const STEP_FIELDS = [
  'offeredPerS',
  'deliveredPerS',
  'lost',
  'lossPct',
  'achievedPct',
  'p50',
  'p95',
  'p99',
  'max',
  'serverCpuPct',
  'cpuUsPerMsg',
  'loadCpuPct',
  'eldP99Ms',
  'serverRssMB',
  'foreignServerCorePct',
  'foreignLoadCorePct',
  'stealPct',
  'maxStallMs',
];
/** A repeat during which other tenants used more than this much of a core (server's or load's) counts as noisy… */
export const NOISE_PCT = 25;
/** …and so does one during which a stall probe on one of our cores woke up this much too late (the core was taken away). */
export const STALL_MS = 30;

const quietOf = (reps) => {
  const q = reps.filter((r) => !r.noisy);
  return q.length ? q : reps;
};
const repPass = (r) =>
  r.lost === 0 &&
  !r.misrouted &&
  !r.wrongEnvelope &&
  r.achievedPct >= 95 &&
  r.latency?.p99 != null &&
  r.latency.p99 < 50;
const noisy = (r) =>
  (r.foreignServerCorePct ?? 0) > NOISE_PCT ||
  (r.foreignLoadCorePct ?? 0) > NOISE_PCT ||
  (r.maxStallMs ?? 0) >= STALL_MS;

/**
 * Runs ctx.repeat (or cfg.repeat, if higher) interleaved repeats of one step for every running server, then — bounded by cfg.maxExtra —
 * extra repeats for a server whose repeats disagree (one passed, one failed) or that has fewer than two quiet
 * repeats (other tenants of the machine busy during the measurement). Medians then come from ≥ 3 repeats.
 */
export async function stepReps(ctx, out, units, cfg, runOne) {
  const reps = {};
  const once = async (kind, rep) => {
    const q = cfg.quietWaitMs ? await waitQuiet(ctx, units, cfg.quietWaitMs) : null;
    await guard(ctx, out, units, kind, async (u) => {
      const r = await runOne(u, rep);
      if (q) r.quietWait = q;
      r.noisy = noisy(r);
      (reps[kind] ??= []).push(r);
    });
    await sleep(cfg.settleMs ?? 0);
  };
  const repeat = Math.max(ctx.repeat, cfg.repeat ?? 0); // a step may ask for more repeats than the run's default
  for (let rep = 0; rep < repeat; rep++) for (const kind of orderFor(ctx, rep, units)) await once(kind, rep);
  for (let x = 0; x < (cfg.maxExtra ?? 0) && !overBudget(ctx); x++) {
    const need = active(ctx, units).filter((k) => {
      const rs = reps[k] ?? [];
      if (rs.length === 0) return false;
      const v = quietOf(rs).map(repPass);
      const disagree = v.some(Boolean) && v.some((b) => !b);
      const quiet = rs.filter((r) => !r.noisy).length;
      return disagree || quiet < 2;
    });
    if (need.length === 0) break;
    for (const kind of x % 2 ? need.reverse() : need) await once(kind, repeat + x);
  }
  return reps;
}

export function flatten(rep) {
  return { ...rep, p50: rep.latency?.p50, p95: rep.latency?.p95, p99: rep.latency?.p99, max: rep.latency?.max };
}

/**
 * A step passes for a server when, over its repeats, the median loss is zero, the median p99 is below 50 ms, the
 * load generator reached ≥ 95 % of the offered rate (otherwise the step proves nothing), and no message was
 * misrouted in any repeat. (With 2 repeats the median is their mean, so one lossy repeat fails the step.)
 */
export function judgeStep(reps) {
  const s = summarize(reps.map((r) => r.p99));
  const zeroLoss = median(reps.map((r) => r.lost)) === 0;
  const routed = reps.every((r) => !r.misrouted && !r.wrongEnvelope);
  const reached = median(reps.map((r) => r.achievedPct)) >= 95;
  const p99ok = s.median != null && s.median < 50;
  const why = [];
  if (!zeroLoss) why.push('loss');
  if (!routed) why.push('misrouted');
  if (!reached) why.push('load generator below 95 % of offered rate');
  if (!p99ok) why.push('p99 ≥ 50 ms');
  return { pass: zeroLoss && routed && reached && p99ok, why, loadLimited: !reached };
}

/**
 * Repeats during which other tenants of the machine were busy (> NOISE_PCT of a core) measure them rather than
 * us: when at least one quiet repeat exists, the figures and the verdict come from the quiet repeats only
 * (`summary`); `summaryAll` keeps every repeat. `noisy` flags a step judged on fewer than two quiet repeats.
 */
export function aggregate(repsRaw) {
  const reps = repsRaw.map(flatten);
  const quiet = reps.filter((r) => !r.noisy);
  const judged = quiet.length ? quiet : reps;
  return {
    reps,
    noisyReps: reps.length - quiet.length,
    judgedOn: quiet.length ? 'quiet repeats' : 'all repeats (none was quiet)',
    noisy: quiet.length < 2,
    summary: summarizeFields(judged, STEP_FIELDS),
    summaryAll: summarizeFields(reps, STEP_FIELDS),
    ...judgeStep(judged),
  };
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
  if (Object.values(cap).some((c) => c.atTop))
    notes.push('a capacity marked ≥ passed the highest step run; its real capacity may be higher');
  if (out.steps.some((s) => ctx.kinds.some((k) => s[k]?.loadLimited)))
    notes.push(
      'some steps were limited by the load generator (below 95 % of the offered rate); they count as not passed',
    );
  const noisySteps = out.steps.filter((s) => ctx.kinds.some((k) => s[k]?.noisyReps));
  if (noisySteps.length)
    notes.push(
      `other processes on this shared machine used > ${NOISE_PCT} % of the server's or the load generator's core, or a stall probe saw one of those cores taken away for ≥ ${STALL_MS} ms, during some repeats (steps ${noisySteps.map((s) => s.step).join(', ')}); figures and verdicts use the quiet repeats when there is one (Reps column: total (noisy)); steps with fewer than two quiet repeats are marked "noisy"`,
    );
  return notes;
}

/**
 * Stop stepping up once every running server failed a step on quiet repeats, or failed the last two steps
 * whatever the noise (a noisy failure alone does not prove the server is past its capacity).
 */
export function pastCapacity(ctx, units, steps) {
  const last = steps.at(-1);
  const prev = steps.at(-2);
  return active(ctx, units).every(
    (k) => last?.[k] && !last[k].pass && (!last[k].noisy || (prev?.[k] && !prev[k].pass)),
  );
}

/** Server CPU µs per delivered message at the highest step every server ran without loss (median over all its repeats). */
export function cpuRow(ctx, out, unit) {
  const common = out.steps.filter((s) => ctx.kinds.every((k) => s[k]));
  const lossless = common.filter((s) => ctx.kinds.every((k) => s[k].summaryAll?.lost?.median === 0));
  const st = lossless.at(-1) ?? common.at(-1) ?? out.steps.at(-1);
  const v = (k) => st?.[k]?.summaryAll?.cpuUsPerMsg?.median ?? st?.[k]?.summary?.cpuUsPerMsg?.median ?? null;
  return {
    metric: `server CPU per ${unit} (µs, at ${st?.label ?? '—'}; all repeats)`,
    ours: v('ours'),
    baseline: v('baseline'),
    oursValue: v('ours'),
    baselineValue: v('baseline'),
    ratio: ratio(v('ours'), v('baseline')),
    target: '— (efficiency; robust to noise)',
    met: null,
  };
}
