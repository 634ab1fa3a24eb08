#!/usr/bin/env node
// `npm run bench` — our cloud (dist/main.js) against a bare `ws` relay (bench/baseline/server.mjs), same load,
// same run, interleaved step by step. See bench/README.md for the scenarios, flags and output.
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, platform, release, arch, setPriority } from 'node:os';
import { join, resolve, relative } from 'node:path';
import { parseArgs, profileFor, SCENARIOS } from './lib/config.mjs';
import {
  pinningPlan,
  pinPid,
  makeSecrets,
  cleanupTempRoot,
  benchTempRoot,
  forkProbe,
  killAllChildren,
  snapshotDist,
  removeSnapshot,
  ROOT_DIR,
  BENCH_DIR,
} from './lib/proc.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { profileHeaviest } from './lib/profile.mjs';
import { stopPool } from './lib/harness.mjs';

const scenarioModules = {
  relay: () => import('./scenarios/relay.mjs'),
  audio: () => import('./scenarios/audio.mjs'),
  idle: () => import('./scenarios/idle.mjs'),
  appstart: () => import('./scenarios/appstart.mjs'),
  churn: () => import('./scenarios/churn.mjs'),
  setup: () => import('./scenarios/setup.mjs'),
  fairness: () => import('./scenarios/fairness.mjs'),
  failover: () => import('./scenarios/failover.mjs'),
  transcription: () => import('./scenarios/transcription.mjs'),
  cluster: () => import('./scenarios/cluster.mjs'),
};

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'n/a';
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const profile = profileFor(opts);
  const plan = pinningPlan();
  plan.nice = opts.nice;
  if (plan.pinned) pinPid(plan, process.pid, plan.loadCpu);
  if (plan.nice) {
    try {
      setPriority(process.pid, plan.nice);
    } catch (e) {
      throw new Error(`--nice ${plan.nice}: cannot change priority (${e.message}); run without --nice or as root`);
    }
  }
  const t0 = Date.now();
  const log = (s) => console.log(s);
  const outDir = resolve(opts.out ?? join(BENCH_DIR, 'results'));
  mkdirSync(outDir, { recursive: true });
  if (opts.servers.includes('ours') && !existsSync(join(ROOT_DIR, 'dist', 'main.js'))) {
    throw new Error('dist/main.js not found: run `npm run build` first (npm run bench does), or use --baseline-only');
  }
  const snap = opts.servers.includes('ours') ? snapshotDist() : null;
  if (opts.repeat < 2) log(`warning: --repeat ${opts.repeat}: the spec asks for at least 2 repeats per step`);
  const kinds = ['ours', 'baseline'].filter((k) => opts.servers.includes(k));
  const ctx = {
    plan,
    secrets: makeSecrets(),
    profile,
    kinds,
    repeat: opts.repeat,
    log,
    t0,
    broken: {},
    pool: profile.reuseServers ? {} : null,
  };
  log(
    `bench: profile ${profile.name}, scenarios ${opts.scenarios.join(',')}, servers ${kinds.join(',')}, ${opts.repeat} repeats; pinned: ${plan.pinned ? plan.reason : `no (${plan.reason})`}${plan.nice ? `; nice ${plan.nice}` : ''}; logs in ${benchTempRoot()}`,
  );

  const commit = git(['rev-parse', '--short=12', 'HEAD']);
  const dirty = git(['status', '--porcelain']);
  const meta = {
    date: new Date().toISOString(),
    profile: profile.name,
    argv: process.argv.slice(2),
    node: process.version,
    v8: process.versions.v8,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGB: totalmem() / 2 ** 30,
    platform: `${platform()} ${release()} ${arch()}`,
    commit: commit
      ? `${commit}${dirty ? ' (+ uncommitted changes)' : ''}`
      : `none (no commit yet${dirty ? '; working tree only' : ''})`,
    wsVersion: pkgVersion('ws'),
    sdkVersion: pkgVersion('@mentra/sdk'),
    pinned: plan.pinned,
    oursFrom: snap ? `snapshot of dist/ taken at start (${relative(ROOT_DIR, snap.dir)}/dist)` : null,
    serversPerScenario: profile.reuseServers
      ? 'one server per kind for the whole run (--quick), sessions closed between scenarios'
      : 'fresh servers for every scenario (idle: for every size)',
    pinReason: plan.reason,
    nice: plan.nice,
    taskset: plan.taskset,
    servers: kinds,
    repeat: opts.repeat,
    config: profile,
  };
  const result = { meta, scenarios: {} };
  // stall probes (one per core we use) mark measurements during which the machine took a core away
  ctx.probes = plan.pinned
    ? [forkProbe(plan, plan.serverCpu), forkProbe(plan, plan.loadCpu)]
    : [Object.assign(forkProbe(plan, null), { cpu: 'all' })];
  let failures = 0;
  for (const name of SCENARIOS.filter((s) => opts.scenarios.includes(s))) {
    log(`\n== ${name} ==`);
    const ts = Date.now();
    if (profile.hardBudget && ts - t0 > profile.budgetMs) {
      result.scenarios[name] = {
        scenario: name,
        skipped: `time budget of ${Math.round(profile.budgetMs / 1000)} s used up before this scenario (the machine was slow: see the noise columns of earlier scenarios)`,
        steps: [],
      };
      log(`  skipped: ${result.scenarios[name].skipped}`);
      continue;
    }
    ctx.scenarioDeadline = profile[name].budgetMs ? ts + profile[name].budgetMs : null;
    try {
      const mod = await scenarioModules[name]();
      result.scenarios[name] = await mod.run(ctx);
      const errs = Object.keys(result.scenarios[name].serverErrors ?? {});
      if (errs.length) failures++;
    } catch (e) {
      failures++;
      result.scenarios[name] = { scenario: name, error: String(e?.stack ?? e) };
      log(`  ${name} FAILED: ${String(e?.message ?? e)}`);
    }
    result.scenarios[name].elapsedMs = Date.now() - ts;
  }
  await stopPool(ctx);
  for (const p of ctx.probes) await p.stop().catch(() => {});
  const stamp = meta.date.replace(/[:.]/g, '-');
  if (opts.profile) {
    log('\n== profile ==');
    if (!kinds.includes('ours')) result.profile = { error: 'profiling needs our server (not --baseline-only)' };
    else {
      try {
        result.profile = await profileHeaviest(ctx, result.scenarios, outDir, stamp, opts.profile);
      } catch (e) {
        result.profile = { error: String(e?.message ?? e) };
        log(`  profile FAILED: ${e?.message ?? e}`);
      }
    }
  }
  meta.runMs = Date.now() - t0;
  const md = renderMarkdown(result);
  const jsonPath = join(outDir, `${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(result, null, 2));
  writeFileSync(join(outDir, 'latest.md'), md);
  console.log(`\n${md}`);
  console.log(
    `written: ${relative(process.cwd(), join(outDir, 'latest.md')) || 'latest.md'}, ${relative(process.cwd(), jsonPath)}`,
  );
  cleanupTempRoot(opts.keepLogs || failures > 0);
  if (failures > 0)
    console.log(`${failures} scenario(s) failed; server and load-generator logs kept in ${benchTempRoot()}`);
  return failures > 0 ? 2 : 0;
}

// an interrupted run takes its servers with it (load generators and probes exit when their IPC channel closes)
process.on('exit', () => {
  killAllChildren();
  removeSnapshot();
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllChildren();
    removeSnapshot();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
