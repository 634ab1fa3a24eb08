// Small statistics helpers: percentiles over raw samples, median and spread over repeats.

/** Percentiles (nearest rank) of the first `n` values of a numeric array (sorted in place). */
export function percentiles(values, n = values.length) {
  if (n === 0) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const a = values.length === n ? values : values.subarray ? values.subarray(0, n) : values.slice(0, n);
  if (a.sort) a.sort(a instanceof Float64Array ? undefined : (x, y) => x - y);
  const at = (q) => a[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i];
  return { count: n, p50: r3(at(0.5)), p95: r3(at(0.95)), p99: r3(at(0.99)), max: r3(a[n - 1]), mean: r3(sum / n) };
}

export const r3 = (x) => (x == null || !Number.isFinite(x) ? (x ?? null) : Math.round(x * 1000) / 1000);
export const r1 = (x) => (x == null || !Number.isFinite(x) ? (x ?? null) : Math.round(x * 10) / 10);

export function median(xs) {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** Median, min, max and relative spread ((max-min)/|median|) of a list of repeat values. */
export function summarize(xs) {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (a.length === 0) return { median: null, min: null, max: null, spreadPct: null, n: 0 };
  const med = median(a);
  const min = Math.min(...a);
  const max = Math.max(...a);
  return {
    median: r3(med),
    min: r3(min),
    max: r3(max),
    spreadPct: med ? r1(((max - min) / Math.abs(med)) * 100) : 0,
    n: a.length,
  };
}

/** Summarizes each numeric field of a list of repeat result objects. */
export function summarizeFields(reps, fields) {
  const out = {};
  for (const f of fields) out[f] = summarize(reps.map((r) => r?.[f]));
  return out;
}

export function ratio(a, b) {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}
