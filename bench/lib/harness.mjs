// Orchestrator-side helpers shared by the scenarios: a "unit" is one server under test plus its own
// load-generator child; measurements sample CPU (/proc) and the event-loop delay around the load's marks.
import { performance } from 'node:perf_hooks';
import { startServer, forkLoad, cpuMs, runtime, sleep } from './proc.mjs';

export async function startUnit(ctx, kind, { graceMs = ctx.profile.graceMs, nodeArgs = [] } = {}) {
  const server = await startServer(kind, { plan: ctx.plan, secrets: ctx.secrets, graceMs, nodeArgs });
  const load = forkLoad(ctx.plan, `load-${kind}`);
  try {
    await load.call('init', { serverUrl: server.url, wsBase: server.wsBase, adminKey: ctx.secrets.adminKey, jwtSecret: ctx.secrets.jwtSecret, kind });
  } catch (e) {
    await load.stop();
    await server.stop();
    throw e;
  }
  ctx.log(`  ${kind}: server pid ${server.pid} on :${server.port} (ready in ${server.startupMs} ms), load pid ${load.pid}`);
  return { kind, server, load };
}

export async function startUnits(ctx, opts) {
  const units = {};
  try {
    for (const kind of ctx.kinds) units[kind] = await startUnit(ctx, kind, opts);
  } catch (e) {
    await stopUnits(units);
    throw e;
  }
  return units;
}

export async function stopUnits(units) {
  for (const u of Object.values(units)) {
    await u.load.stop().catch(() => {});
    await u.server.stop().catch(() => {});
  }
}

/** Server order for repeat `rep`: alternates so neither server always runs first. */
export function orderFor(ctx, rep) {
  return rep % 2 === 0 ? [...ctx.kinds] : [...ctx.kinds].reverse();
}

/**
 * Runs one load command and samples, between the load's measureStart/measureEnd marks, the server's and the
 * load generator's CPU (utime+stime from /proc) and the server's event-loop delay p99 (GET /api/admin/runtime).
 */
export async function measured(ctx, unit, cmd, args, timeoutMs) {
  const marks = {};
  const off = unit.load.onEvent((m) => {
    if (m.name === 'measureStart') {
      marks.s = { srv: cpuMs(unit.server.pid), load: cpuMs(unit.load.pid), t: performance.now() };
      marks.rt0 = runtime(unit.server, ctx.secrets);
    } else if (m.name === 'measureEnd') {
      marks.e = { srv: cpuMs(unit.server.pid), load: cpuMs(unit.load.pid), t: performance.now() };
      marks.rt1 = marks.rt0.then(() => runtime(unit.server, ctx.secrets));
    }
  });
  let result;
  try {
    result = await unit.load.call(cmd, args, timeoutMs);
  } finally {
    off();
  }
  if (unit.server.exited) throw new Error(`${unit.kind} server died (${JSON.stringify(unit.server.exited)}); log tail:\n${unit.server.logTail(30)}`);
  const rt1 = marks.rt1 ? await marks.rt1 : null;
  const dt = marks.e && marks.s ? marks.e.t - marks.s.t : null;
  const pct = (a, b) => (dt && a != null && b != null ? ((b - a) / dt) * 100 : null);
  return {
    ...result,
    serverCpuPct: pct(marks.s?.srv, marks.e?.srv),
    loadCpuPct: pct(marks.s?.load, marks.e?.load),
    eldP99Ms: typeof rt1?.eventLoopDelayP99Ms === 'number' ? rt1.eventLoopDelayP99Ms : null,
    serverRssMB: typeof rt1?.rss === 'number' ? rt1.rss / 1048576 : null,
  };
}

export function overBudget(ctx) {
  return Date.now() - ctx.t0 > ctx.profile.budgetMs;
}

export { sleep };
