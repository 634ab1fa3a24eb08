// Orchestrator-side helpers shared by the scenarios: a "unit" is one server under test plus its own
// load-generator child; measurements sample CPU (/proc) and the event-loop delay around the load's marks.
import { performance } from 'node:perf_hooks';
import { startServer, forkLoad, cpuMs, cpuStat, runtime, sleep } from './proc.mjs';

/** `extraEnv`: extra environment for the server process (e.g. SONIOX_URL for the transcription scenario). */
export async function startUnit(ctx, kind, { graceMs = ctx.profile.graceMs, nodeArgs = [], extraEnv = {} } = {}) {
  const server = await startServer(kind, { plan: ctx.plan, secrets: ctx.secrets, graceMs, nodeArgs, extraEnv });
  const load = forkLoad(ctx.plan, `load-${kind}`);
  try {
    await load.call('init', {
      serverUrl: server.url,
      wsBase: server.wsBase,
      adminKey: ctx.secrets.adminKey,
      jwtSecret: ctx.secrets.jwtSecret,
      kind,
      keepAliveMs: ctx.profile.keepAliveMs ?? 1000,
    });
  } catch (e) {
    await load.stop();
    await server.stop();
    throw e;
  }
  ctx.log(
    `  ${kind}: server pid ${server.pid} on :${server.port} (ready in ${server.startupMs} ms), load pid ${load.pid}`,
  );
  return { kind, server, load };
}

/**
 * Starts one unit per server kind. A kind that fails to start is recorded in out.serverErrors and left out
 * (the other server still runs); a kind that failed to start once is not retried in later scenarios.
 */
export async function startUnits(ctx, out, opts) {
  const units = {};
  out.serverErrors ??= {};
  // started side by side (they are idle until the load starts); a failure only drops that kind
  await Promise.all(
    ctx.kinds.map(async (kind) => {
      if (ctx.broken?.[kind]) {
        out.serverErrors[kind] =
          `not started: it failed to start earlier in this run (${ctx.broken[kind].split('\n')[0]})`;
        return;
      }
      const pooled = ctx.pool?.[kind];
      if (pooled && !opts?.fresh && !pooled.server.exited) {
        units[kind] = pooled;
        return;
      }
      try {
        units[kind] = await startUnit(ctx, kind, opts);
        if (ctx.pool && !opts?.fresh) ctx.pool[kind] = units[kind];
      } catch (e) {
        const msg = String(e?.message ?? e);
        out.serverErrors[kind] = msg;
        if (ctx.broken && !e?.notReady) ctx.broken[kind] = msg;
        ctx.log(`  ${kind} FAILED to start: ${msg.split('\n')[0]}`);
      }
    }),
  );
  if (Object.keys(units).length === 0)
    throw new Error(
      `no server could be started: ${Object.entries(out.serverErrors)
        .map(([k, v]) => `${k}: ${v.split('\n')[0]}`)
        .join('; ')}`,
    );
  return units;
}

/** Runs fn for one unit; on failure records the error, stops that unit and drops it from `units`. */
export async function guard(ctx, out, units, kind, fn) {
  try {
    return await fn(units[kind]);
  } catch (e) {
    const u = units[kind];
    let msg = String(e?.message ?? e);
    if (u?.server.exited)
      msg += `\n${u.kind} server exited (${JSON.stringify(u.server.exited)}); log tail:\n${u.server.logTail(30)}`;
    out.serverErrors ??= {};
    out.serverErrors[kind] = msg;
    ctx.log(`  ${kind} FAILED: ${msg.split('\n')[0]}`);
    delete units[kind];
    if (ctx.pool?.[kind] === u) delete ctx.pool[kind];
    if (u) {
      await u.load.stop().catch(() => {});
      await u.server.stop().catch(() => {});
    }
    return undefined;
  }
}

/** Kinds still running, in the run's order. */
export function active(ctx, units) {
  return ctx.kinds.filter((k) => units[k]);
}

/**
 * Ends a scenario's units. With a server pool (--quick: one server per kind for the whole run, to stay within
 * 60 s) the units stay up, but every session the scenario opened is closed and the server drained first.
 */
export async function stopUnits(units, ctx) {
  for (const u of Object.values(units)) {
    if (ctx?.pool && ctx.pool[u.kind] === u && !u.server.exited) {
      try {
        await u.load.call('closeAll', {}, 30_000);
        const t0 = Date.now();
        while (Date.now() - t0 < ctx.profile.graceMs + 5000) {
          const rt = await runtime(u.server, ctx.secrets);
          if (rt?.sessions === 0 && (rt.glassesSockets ?? 0) === 0 && (rt.appSockets ?? 0) === 0) break;
          await sleep(100);
        }
        continue;
      } catch {
        delete ctx.pool[u.kind];
      }
    }
    if (ctx?.pool?.[u.kind] === u) delete ctx.pool[u.kind];
    await u.load.stop().catch(() => {});
    await u.server.stop().catch(() => {});
  }
}

export async function stopPool(ctx) {
  for (const u of Object.values(ctx.pool ?? {})) {
    await u.load.stop().catch(() => {});
    await u.server.stop().catch(() => {});
  }
  if (ctx.pool) for (const k of Object.keys(ctx.pool)) delete ctx.pool[k];
}

/** Server order for repeat `rep`: alternates so neither server always runs first. */
export function orderFor(ctx, rep, units) {
  const kinds = units ? active(ctx, units) : [...ctx.kinds];
  return rep % 2 === 0 ? kinds : kinds.reverse();
}

/**
 * Runs one load command and samples, between the load's measureStart/measureEnd marks, the server's and the
 * load generator's CPU (utime+stime from /proc) and the server's event-loop delay p99 (GET /api/admin/runtime).
 */
export async function measured(ctx, unit, cmd, args, timeoutMs) {
  const marks = {};
  const snap = () => {
    const u = process.cpuUsage();
    return {
      srv: cpuMs(unit.server.pid),
      load: cpuMs(unit.load.pid),
      me: (u.user + u.system) / 1000,
      cpu: cpuStat(),
      t: performance.now(),
    };
  };
  const off = unit.load.onEvent((m) => {
    if (m.name === 'measureStart') {
      marks.s = snap();
      marks.rt0 = runtime(unit.server, ctx.secrets);
      marks.p0 = Promise.all((ctx.probes ?? []).map((p) => p.call('reset', {}, 5000).catch(() => null)));
    } else if (m.name === 'measureEnd') {
      marks.e = snap();
      marks.rt1 = marks.rt0.then(() => runtime(unit.server, ctx.secrets));
      marks.p1 = marks.p0.then(() =>
        Promise.all((ctx.probes ?? []).map((p) => p.call('read', {}, 5000).catch(() => null))),
      );
    }
  });
  let result;
  try {
    result = await unit.load.call(cmd, args, timeoutMs);
  } finally {
    off();
  }
  if (unit.server.exited)
    throw new Error(
      `${unit.kind} server died (${JSON.stringify(unit.server.exited)}); log tail:\n${unit.server.logTail(30)}`,
    );
  const rt1 = marks.rt1 ? await marks.rt1 : null;
  const dt = marks.e && marks.s ? marks.e.t - marks.s.t : null;
  const pct = (a, b) => (dt && a != null && b != null ? ((b - a) / dt) * 100 : null);
  const noise = foreignCpu(ctx, marks, dt);
  const probes = marks.p1 ? await marks.p1 : [];
  const pr = (cpu) => probes[(ctx.probes ?? []).findIndex((p) => p.cpu === cpu)] ?? null;
  noise.stallServerCore = pr(ctx.plan.pinned ? ctx.plan.serverCpu : 'all');
  noise.stallLoadCore = ctx.plan.pinned ? pr(ctx.plan.loadCpu) : noise.stallServerCore;
  noise.maxStallMs = Math.max(noise.stallServerCore?.maxStallMs ?? 0, noise.stallLoadCore?.maxStallMs ?? 0);
  const serverCpuPct = pct(marks.s?.srv, marks.e?.srv);
  return {
    ...result,
    ...noise,
    // server CPU time per delivered message: less sensitive to other tenants than latency is
    cpuUsPerMsg:
      serverCpuPct != null && result.deliveredPerS ? ((serverCpuPct / 100) * 1e6) / result.deliveredPerS : null,
    serverCpuPct,
    loadCpuPct: pct(marks.s?.load, marks.e?.load),
    eldP99Ms: typeof rt1?.eventLoopDelayP99Ms === 'number' ? rt1.eventLoopDelayP99Ms : null,
    serverRssMB: typeof rt1?.rss === 'number' ? rt1.rss / 1048576 : null,
  };
}

/**
 * CPU used by processes that are not ours (other tenants of this shared machine) while we measured, in % of one
 * core: on the server's core and on the load generator's core when pinned, else over all cores. Plus steal time.
 */
function foreignCpu(ctx, marks, dt) {
  if (!dt || !marks.s?.cpu || !marks.e?.cpu)
    return { foreignServerCorePct: null, foreignLoadCorePct: null, stealPct: null };
  const d = (name, f) => (marks.e.cpu[name]?.[f] ?? 0) - (marks.s.cpu[name]?.[f] ?? 0);
  const srv = marks.e.srv - marks.s.srv;
  const load = marks.e.load - marks.s.load;
  const me = marks.e.me - marks.s.me;
  const cores = Object.keys(marks.e.cpu);
  const steal = cores.reduce((a, c) => a + d(c, 'steal'), 0);
  const r = (x) => Math.max(0, Math.round((x / dt) * 1000) / 10);
  if (ctx.plan.pinned) {
    const sc = `cpu${ctx.plan.serverCpu}`;
    const lc = `cpu${ctx.plan.loadCpu}`;
    return {
      foreignServerCorePct: r(d(sc, 'task') - srv),
      foreignLoadCorePct: r(d(lc, 'task') - load - me),
      stealPct: r(steal),
    };
  }
  const all = cores.reduce((a, c) => a + d(c, 'task'), 0);
  const f = r(all - srv - load - me);
  return { foreignServerCorePct: f, foreignLoadCorePct: f, stealPct: r(steal) };
}

/**
 * Waits (bounded by maxMs) until other processes on the machine use less than `pct` % of a core, sampled over
 * 250 ms windows — so a measurement does not start in the middle of someone else's build or test run.
 */
export async function waitQuiet(ctx, units, maxMs, pct = 25) {
  const t0 = Date.now();
  const ours = () => {
    let ms = 0;
    for (const u of Object.values(units)) ms += (cpuMs(u.server.pid) ?? 0) + (cpuMs(u.load.pid) ?? 0);
    const c = process.cpuUsage();
    return ms + (c.user + c.system) / 1000;
  };
  let foreign = null;
  for (;;) {
    const a = cpuStat();
    const oa = ours();
    const ta = performance.now();
    await sleep(250);
    const b = cpuStat();
    const ob = ours();
    const dt = performance.now() - ta;
    let task = 0;
    for (const k of Object.keys(b)) task += b[k].task - (a[k]?.task ?? 0);
    foreign = Math.max(0, ((task - (ob - oa)) / dt) * 100);
    if (foreign < pct || Date.now() - t0 >= maxMs) break;
  }
  const waited = Date.now() - t0;
  ctx.quietWaitMs = (ctx.quietWaitMs ?? 0) + waited;
  return { waitedMs: waited, foreignPct: Math.round(foreign), quiet: foreign < pct };
}

/** True once the scenario's share of the time budget (or the whole run's) is used up. */
export function overBudget(ctx) {
  const now = Date.now();
  return now - ctx.t0 > ctx.profile.budgetMs || (ctx.scenarioDeadline != null && now > ctx.scenarioDeadline);
}

export { sleep };
