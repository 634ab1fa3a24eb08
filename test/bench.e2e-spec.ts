import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Smoke test of `npm run bench`: runs `bench/run.mjs --quick --tiny` (a few users, ~1 s per step) against
 * our built server and the bare `ws` baseline, and checks that the output is well-formed and that every
 * scenario produced figures for both servers. It asserts no speed: the machine is shared and noisy.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['relay', 'audio', 'idle', 'setup', 'appstart', 'churn', 'fairness', 'failover'] as const;
const SERVERS = ['ours', 'baseline'] as const;

interface Stat {
  median: number | null;
  min: number | null;
  max: number | null;
  n: number;
}
interface ServerStep {
  reps: Record<string, unknown>[];
  summary: Record<string, Stat>;
  pass: boolean;
}
interface Step {
  step: number;
  label: string;
  ours?: ServerStep;
  baseline?: ServerStep;
}
interface Row {
  metric: string;
  ours: unknown;
  baseline: unknown;
  target: string;
  met: boolean | null;
}
interface Scenario {
  scenario: string;
  error?: string;
  serverErrors?: Record<string, string>;
  steps: Step[];
  summary: { rows: Row[] };
}
interface BenchResult {
  meta: {
    node: string;
    cpuModel: string;
    cores: number;
    commit: string;
    pinned: boolean;
    date: string;
    repeat: number;
    servers: string[];
  };
  scenarios: Record<string, Scenario>;
}

/** The figure that must be present for each scenario (median over the repeats). */
const KEY_FIGURES: Record<(typeof SCENARIOS)[number], string[]> = {
  relay: ['deliveredPerS', 'p50', 'p99', 'serverCpuPct'],
  audio: ['deliveredPerS', 'p50', 'p99', 'serverCpuPct'],
  idle: ['heapPerSessionKB', 'rssPerSessionKB', 'heapReturnPct', 'sessionsAfter'],
  appstart: ['p50', 'p99', 'floorP50', 'overheadP50'],
  churn: ['cyclesPerS', 'p50', 'p99', 'sessionsAfter', 'heapGrowthPct'],
  setup: ['setupMs', 'sessionsPerS', 'startP50', 'startP99', 'serverCpuPct'],
  fairness: ['deliveredPerS', 'p99', 'controlP99', 'attackBig', 'loadCpuPct'],
  failover: ['allAppsMs', 'appP99', 'ackP99', 'serverCpuPct', 'loadCpuPct', 'bootMs'],
};

function runBench(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['bench/run.mjs', '--quick', '--tiny', '--out', outDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

describe('bench: npm run bench -- --quick --tiny', () => {
  let outDir = '';
  let result: BenchResult;
  let markdown = '';
  let run: { code: number | null; output: string };

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    outDir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
    run = await runBench(outDir);
    const json = readdirSync(outDir).filter((f) => f.endsWith('.json'));
    if (json.length !== 1)
      throw new Error(
        `expected one JSON result in ${outDir}, found ${json.length}; exit ${run.code}; output tail:\n${run.output.slice(-4000)}`,
      );
    result = JSON.parse(readFileSync(join(outDir, json[0]), 'utf8')) as BenchResult;
    markdown = readFileSync(join(outDir, 'latest.md'), 'utf8');
    rmSync(outDir, { recursive: true, force: true });
  }, 300_000);

  it('exits 0 and writes the machine description', () => {
    expect(run.code, run.output.slice(-4000)).toBe(0);
    expect(result.meta.node).toMatch(/^v\d+/);
    expect(typeof result.meta.cpuModel).toBe('string');
    expect(result.meta.cores).toBeGreaterThanOrEqual(1);
    expect(typeof result.meta.commit).toBe('string');
    expect(typeof result.meta.pinned).toBe('boolean');
    expect(result.meta.repeat).toBeGreaterThanOrEqual(2);
    expect(result.meta.servers).toEqual(['ours', 'baseline']);
  });

  it('prints a markdown summary table with every scenario', () => {
    expect(markdown).toContain('| Scenario | Metric | Ours | Baseline | Ratio | Target | Met |');
    for (const title of [
      '1. Event relay',
      '2. Audio',
      '3. Idle sessions',
      '4. App start',
      '5. Churn',
      '6. Transcription',
      '7. Cluster mode',
      '8. Set-up',
      '9. Fairness',
      '10. Failover storm',
    ])
      expect(markdown).toContain(`## ${title}`);
    expect(run.output).toContain('| Scenario | Metric | Ours | Baseline | Ratio | Target | Met |');
  });

  it.each(SCENARIOS)('%s: figures for both servers', (name) => {
    const s = result.scenarios[name];
    expect(s, `scenario ${name} missing`).toBeDefined();
    expect(s.error, s.error).toBeUndefined();
    expect(s.serverErrors ?? {}, JSON.stringify(s.serverErrors)).toEqual({});
    expect(s.steps.length).toBeGreaterThanOrEqual(1);
    for (const step of s.steps) {
      for (const server of SERVERS) {
        const r = step[server];
        expect(r, `${name} step ${step.step}: no figures for ${server}`).toBeDefined();
        expect(r!.reps.length).toBeGreaterThanOrEqual(2);
        for (const f of KEY_FIGURES[name]) {
          const v = r!.summary[f]?.median;
          expect(Number.isFinite(v), `${name} step ${step.step} ${server}.${f} = ${String(v)}`).toBe(true);
        }
      }
    }
    expect(s.summary.rows.length).toBeGreaterThanOrEqual(1);
    for (const row of s.summary.rows) {
      expect(row.ours, `${name}: "${row.metric}" has no figure for ours`).not.toBeNull();
      expect(row.baseline, `${name}: "${row.metric}" has no figure for the baseline`).not.toBeNull();
    }
  });

  it('relay: the saturation step (the highest) ran at least 3 times per server', () => {
    const s = result.scenarios.relay;
    const top = s.steps.find((st) => st.step === Math.max(...s.steps.map((x) => x.step)));
    for (const server of SERVERS) expect(top?.[server]?.reps.length, server).toBeGreaterThanOrEqual(3);
    expect(s.summary.rows.some((r) => r.metric.startsWith('delivered events/s at the saturation step'))).toBe(true);
  });

  it('fairness: the attacker sent oversized frames; ours closed its socket (1009) and it reconnected', () => {
    const ours = result.scenarios.fairness.steps[0]!.ours!;
    for (const rep of ours.reps as Array<{
      attack: { big: number; reconnects: number; closes: Record<string, number> };
    }>) {
      expect(rep.attack.big).toBeGreaterThan(0);
      expect(rep.attack.closes['1009'] ?? 0).toBeGreaterThan(0);
      expect(rep.attack.reconnects).toBeGreaterThan(0);
    }
  });

  it("failover: ours' breakdown has every phase from its /metrics", () => {
    const ours = result.scenarios.failover.steps[0]!.ours!;
    for (const phase of ['auth', 'session_build', 'store_read', 'store_write', 'webhook', 'init']) {
      expect(ours.summary[`${phase}Count`]?.median, phase).toBeGreaterThan(0);
      expect(Number.isFinite(ours.summary[`${phase}MeanMs`]?.median), phase).toBe(true);
    }
  });

  // ours only: with transcription (through the Soniox double) vs relaying audio only; both modes are "servers" here
  it('transcription: figures for both modes', () => {
    const s = result.scenarios.transcription as unknown as Scenario & {
      steps: Record<string, ServerStep & { cpuPctPerUser: number | null }>[];
    };
    expect(s, 'scenario transcription missing').toBeDefined();
    expect(s.error, s.error).toBeUndefined();
    expect(s.serverErrors ?? {}, JSON.stringify(s.serverErrors)).toEqual({});
    expect(s.steps.length).toBeGreaterThanOrEqual(1);
    for (const step of s.steps) {
      for (const mode of ['transcription', 'relay']) {
        const r = step[mode];
        expect(r, `transcription step: no figures for ${mode}`).toBeDefined();
        expect(r.reps.length).toBeGreaterThanOrEqual(2);
        for (const f of ['deliveredPerS', 'p50', 'p99', 'serverCpuPct'])
          expect(Number.isFinite(r.summary[f]?.median), `${mode}.${f}`).toBe(true);
        expect(Number.isFinite(r.cpuPctPerUser), `${mode}.cpuPctPerUser`).toBe(true);
      }
    }
    for (const row of s.summary.rows) {
      expect(row.ours, `transcription: "${row.metric}" has no figure with transcription`).not.toBeNull();
      expect(row.baseline, `transcription: "${row.metric}" has no relay-only figure`).not.toBeNull();
    }
  });
  // ours only: cluster mode (REDIS_URL, Redis store, the bench's own redis-server) vs single mode, per process
  it('cluster: CPU per message, set-up and a cross-process admin call for both modes', () => {
    const s = result.scenarios.cluster as unknown as Scenario & {
      steps: Record<string, ServerStep & { summaryAll: Record<string, Stat> }>[];
      setup: Record<string, { cpuMsPerSession: Stat; sessionsPerS: Stat }>;
      adminMs: Record<string, { p50: number; p99: number; nodes: number }>;
      ownerCallMs: Record<string, { p50: number; p99: number; owners: string[] }>;
    };
    expect(s, 'scenario cluster missing').toBeDefined();
    expect(s.error, s.error).toBeUndefined();
    expect(s.serverErrors ?? {}, JSON.stringify(s.serverErrors)).toEqual({});
    expect(s.steps.map((st) => st.step)).toEqual(['relay', 'audio']);
    for (const step of s.steps)
      for (const mode of ['cluster', 'single']) {
        const r = step[mode];
        expect(r, `cluster ${String(step.step)}: no figures for ${mode}`).toBeDefined();
        expect(r.reps.length).toBeGreaterThanOrEqual(2);
        expect(Number.isFinite(r.summaryAll.cpuUsPerMsg?.median), `${mode}.cpuUsPerMsg`).toBe(true);
      }
    for (const mode of ['cluster', 'single']) {
      expect(Number.isFinite(s.setup[mode]?.cpuMsPerSession.median), `${mode} set-up CPU`).toBe(true);
      expect(Number.isFinite(s.setup[mode]?.sessionsPerS.median), `${mode} set-up rate`).toBe(true);
      expect(Number.isFinite(s.adminMs[mode]?.p50), `${mode} admin call`).toBe(true);
      expect(Number.isFinite(s.ownerCallMs[mode]?.p50), `${mode} session call`).toBe(true);
    }
    // The admin call was answered across two cluster processes, and locally in single mode.
    expect(s.adminMs.cluster!.nodes).toBe(2);
    expect(s.adminMs.single!.nodes).toBe(1);
    // The session calls were asked of the process that does not hold the users, and answered by the one that does.
    expect(s.ownerCallMs.cluster!.owners).toEqual(['bench-a']);
    for (const row of s.summary.rows) {
      expect(row.ours, `cluster: "${row.metric}" has no cluster-mode figure`).not.toBeNull();
      expect(row.baseline, `cluster: "${row.metric}" has no single-mode figure`).not.toBeNull();
    }
  });
});
