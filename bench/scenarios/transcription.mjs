// Scenario 6 — transcription: N users streaming audio (3,200-byte PCM16 frames 10×/s) with one
// `transcription:en-US` subscriber each, through the Soniox double running in its own process, against the same N
// with audio relay only (one `audio_chunk` subscriber each). Ours only (the baseline has no transcription): two
// instances of our server, one per mode, both started with SONIOX_API_KEY / SONIOX_URL pointing at the double;
// steps interleaved like the other scenarios (transcription, relay, relay, transcription…).
// Reports the cloud's CPU per user and the delivered-text latency (see loadgen.mjs `transcribe`).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startUnit, stopUnits, measured, overBudget, guard, active } from '../lib/harness.mjs';
import { aggregate, stepReps } from './common.mjs';
import { TARGETS } from '../lib/config.mjs';
import { BENCH_DIR, ROOT_DIR, wrap, trackChild, cpuMs } from '../lib/proc.mjs';

const MODES = ['transcription', 'relay'];
const PKG = { transcription: 'com.bench.transcribe', relay: 'com.bench.audiorelay' };
const SUBS = { transcription: ['transcription:en-US'], relay: ['audio_chunk'] };
/** One word per 3,200-byte frame: every frame the glasses send completes exactly one recognised word. */
export const DOUBLE_OPTIONS = { bytesPerWord: 3200, wordsPerUtterance: 4, apiKeys: 'any' };

/** Starts `bench/doubles/soniox-double.mjs --port 0` (pinned with the load generators) and waits for its ready line. */
export async function startSonioxDouble(ctx, options = DOUBLE_OPTIONS, timeoutMs = 15_000) {
  const [cmd, ...args] = wrap(ctx.plan, ctx.plan.loadCpu, [
    process.execPath,
    join(BENCH_DIR, 'doubles', 'soniox-double.mjs'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--options',
    JSON.stringify(options),
  ]);
  const child = trackChild(spawn(cmd, args, { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`soniox double: no ready line within ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`soniox double: bad ready line ${line.slice(0, 200)}`));
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`soniox double exited (${code ?? sig}) before ready; stderr: ${stderr}`));
    });
  });
  if (!ready?.ready || !ready.url) throw new Error(`soniox double: unexpected ready line ${JSON.stringify(ready)}`);
  return {
    url: ready.url,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

export async function run(ctx) {
  const cfg = ctx.profile.transcription;
  const out = {
    scenario: 'transcription',
    modes: MODES,
    config: { ...cfg, frameBytes: 3200, framesPerSecondPerUser: 10, double: DOUBLE_OPTIONS },
    steps: [],
    notes: [],
    serverErrors: {},
  };
  if (!ctx.kinds.includes('ours')) {
    out.skipped = 'needs our server (the baseline has no transcription)';
    return out;
  }
  // the harness's helpers take the modes as the "kinds" of this scenario (two of our servers, no pool)
  const mctx = { ...ctx, kinds: MODES, pool: null };
  const double = await startSonioxDouble(ctx);
  ctx.log(`  soniox double pid ${double.pid} at ${double.url} (${JSON.stringify(DOUBLE_OPTIONS)})`);
  const extraEnv = { SONIOX_API_KEY: 'bench-soniox-key', SONIOX_URL: double.url };
  const units = {};
  try {
    await Promise.all(
      MODES.map(async (mode) => {
        try {
          units[mode] = await startUnit(ctx, 'ours', { extraEnv });
        } catch (e) {
          out.serverErrors[mode] = String(e?.message ?? e);
          ctx.log(`  ${mode} FAILED to start: ${out.serverErrors[mode].split('\n')[0]}`);
        }
      }),
    );
    const have = {};
    const d0 = cpuMs(double.pid);
    for (const mode of active(mctx, units))
      await guard(mctx, out, units, mode, (u) =>
        u.load.call('createApp', { packageName: PKG[mode], subscriptions: SUBS[mode] }),
      );
    let stepId = 0;
    for (const users of cfg.steps) {
      if (active(mctx, units).length === 0) break;
      if (overBudget(mctx) && out.steps.length > 0) {
        out.notes.push(`time budget reached: steps from ${users} users on were skipped`);
        break;
      }
      for (const mode of active(mctx, units)) {
        if ((have[mode] ?? 0) >= users) continue;
        await guard(mctx, out, units, mode, async (u) => {
          const r = await u.load.call(
            'setup',
            {
              packageName: PKG[mode],
              prefix: `${mode.slice(0, 2)}-`,
              from: have[mode] ?? 0,
              to: users,
              concurrency: 64,
              maxMs: 120_000,
            },
            240_000,
          );
          ctx.log(`  ${mode}: ${r.sessions} sessions (setup ${r.ms} ms)`);
          have[mode] = users;
        });
      }
      const reps = await stepReps(mctx, out, units, cfg, async (u, rep) => {
        const mode = MODES.find((m) => units[m] === u);
        const args = { users, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs, drainMs: cfg.drainMs };
        const r = await measured(
          mctx,
          u,
          mode === 'transcription' ? 'transcribe' : 'audio',
          mode === 'transcription' ? args : { ...args, stepId: ++stepId },
          120_000,
        );
        r.cpuPctPerUser = r.serverCpuPct != null ? r.serverCpuPct / users : null;
        ctx.log(
          `  transcription ${users} users ${mode} #${rep + 1}: ${r.deliveredPerS.toFixed(0)} ${mode === 'transcription' ? 'words' : 'frames'}/s loss ${r.lossPct.toFixed(2)}% p50 ${r.latency.p50} p99 ${r.latency.p99} ms, server CPU ${r.serverCpuPct?.toFixed(1)}% (${r.cpuPctPerUser?.toFixed(2)}%/user), foreign ${r.foreignServerCorePct}/${r.foreignLoadCorePct}%, max stall ${r.maxStallMs} ms`,
        );
        return r;
      });
      const step = { step: users, label: `${users} users` };
      for (const m of active(mctx, units)) {
        if (!reps[m]?.length) continue;
        step[m] = aggregate(reps[m]);
        const per = reps[m]
          .map((r) => r.cpuPctPerUser)
          .filter((x) => x != null)
          .sort((a, b) => a - b);
        step[m].cpuPctPerUser = per.length
          ? per.length % 2
            ? per[(per.length - 1) / 2]
            : (per[per.length / 2 - 1] + per[per.length / 2]) / 2
          : null;
      }
      out.steps.push(step);
    }
    const d1 = cpuMs(double.pid);
    if (d0 != null && d1 != null) out.doubleCpuMs = d1 - d0;
  } finally {
    await stopUnits(units, null);
    await double.stop();
  }
  for (const k of Object.keys(out.serverErrors)) if (!MODES.includes(k)) delete out.serverErrors[k];
  if (Object.keys(out.serverErrors).length === 0) delete out.serverErrors;
  // the summary: the highest step both modes ran
  const st = out.steps.filter((s) => MODES.every((m) => s[m])).at(-1) ?? out.steps.at(-1);
  const tr = st?.transcription;
  const re = st?.relay;
  const f = (x, d = 2) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  const lat = (a) => (a ? `p50 ${f(a.summary.p50?.median, 1)} / p99 ${f(a.summary.p99?.median, 1)}` : null);
  const ratio = (a, b) => (a != null && b ? a / b : null);
  out.summary = {
    target: TARGETS.transcription,
    rows: [
      {
        metric: `server CPU per user, % of a core (at ${st?.label ?? '—'}): Ours = with transcription, Baseline column = ours relay only`,
        ours: tr?.cpuPctPerUser ?? null,
        baseline: re?.cpuPctPerUser ?? null,
        oursValue: tr?.cpuPctPerUser ?? null,
        baselineValue: re?.cpuPctPerUser ?? null,
        ratio: ratio(tr?.cpuPctPerUser, re?.cpuPctPerUser),
        target: '— (cost of transcription)',
        met: null,
      },
      {
        metric: `latency ms (at ${st?.label ?? '—'}): Ours = delivered text (frame completing a word → app), Baseline column = ours relay only (frame → app)`,
        ours: lat(tr),
        baseline: lat(re),
        oursValue: tr?.summary.p50?.median ?? null,
        baselineValue: re?.summary.p50?.median ?? null,
        ratio: ratio(tr?.summary.p50?.median, re?.summary.p50?.median),
        target: '— (ratio of p50s)',
        met: null,
      },
    ],
  };
  out.notes.push(
    'two instances of our server (both with SONIOX_URL set to the double), one per mode; the baseline takes no part (it has no transcription); the "Baseline" column of the summary holds the relay-only mode',
  );
  out.notes.push(
    `the Soniox double runs in its own process on the load generators' core; bytesPerWord ${DOUBLE_OPTIONS.bytesPerWord} (one word per frame), ${DOUBLE_OPTIONS.wordsPerUtterance} words per utterance${out.doubleCpuMs != null ? `; it used ${Math.round(out.doubleCpuMs)} ms CPU over the scenario` : ''}`,
  );
  return out;
}
