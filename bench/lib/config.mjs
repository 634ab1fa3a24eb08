// Command-line flags and the load profiles (full / --quick / --quick --tiny).
export const SCENARIOS = [
  'relay',
  'audio',
  'idle',
  'appstart',
  'churn',
  'transcription',
  'cluster',
  'setup',
  'fairness',
  'failover',
];

/** Oversized frames of the fairness scenario's attacker: just over GLASSES_MAX_FRAME_BYTES' default, up to 16 MB. */
const BIG_FRAMES = [300 * 1024, 1_048_576, 4 * 1_048_576, 16 * 1_048_576];
/** Its malformed JSON frames: just under that limit, so they pass the frame check and are parsed to their end. */
const GARBAGE_BYTES = 200 * 1024;

const PROFILES = {
  full: {
    budgetMs: 25 * 60_000,
    hardBudget: true,
    graceMs: 500,
    keepAliveMs: 1000,
    heapSettleMs: 3000,
    relay: {
      users: 200,
      steps: [4000, 8000, 12000, 16000, 24000, 32000, 48000],
      warmupMs: 500,
      durationMs: 4000,
      drainMs: 2000,
      settleMs: 300,
      maxExtra: 2,
      quietWaitMs: 3000,
      topRepeat: 3,
      budgetMs: 270_000,
    },
    audio: {
      steps: [500, 1000, 1250, 1500, 1750, 2000, 2500, 3000],
      warmupMs: 1000,
      durationMs: 4000,
      drainMs: 2000,
      settleMs: 500,
      maxExtra: 2,
      quietWaitMs: 3000,
      budgetMs: 220_000,
    },
    idle: { steps: [1000, 5000], warmup: 100, budgetMs: 190_000 },
    setup: { steps: [5000], concurrency: 50, warmup: 100, budgetMs: 150_000 },
    appstart: { steps: [40], warmup: 3, budgetMs: 50_000 },
    churn: { steps: [1000], rate: 100, concurrency: 32, warmup: 100, budgetMs: 80_000 },
    fairness: {
      users: 50,
      steps: [1000],
      warmupMs: 500,
      durationMs: 4000,
      drainMs: 2000,
      settleMs: 300,
      garbagePerS: 400,
      garbageBytes: GARBAGE_BYTES,
      bigEveryMs: 250,
      bigSizes: BIG_FRAMES,
      quietWaitMs: 3000,
      budgetMs: 90_000,
    },
    failover: { steps: [2000], budgetMs: 150_000 },
    transcription: {
      steps: [25, 50, 100, 200],
      warmupMs: 1000,
      durationMs: 4000,
      drainMs: 2000,
      settleMs: 500,
      quietWaitMs: 3000,
      budgetMs: 60_000,
    },
    // steps: users (relay at users × eventsPerUserPerS, audio at users × 10 frames/s)
    cluster: {
      steps: [200],
      eventsPerUserPerS: 40,
      setupSessions: 100,
      setupConcurrency: 16,
      adminCalls: 200,
      warmupMs: 500,
      durationMs: 4000,
      drainMs: 2000,
      settleMs: 300,
      maxExtra: 2,
      quietWaitMs: 3000,
      budgetMs: 150_000,
    },
  },
  quick: {
    budgetMs: 95_000,
    hardBudget: true,
    graceMs: 300,
    keepAliveMs: 250,
    reuseServers: true,
    relay: {
      users: 20,
      steps: [1000, 4000],
      warmupMs: 150,
      durationMs: 600,
      drainMs: 400,
      settleMs: 30,
      budgetMs: 12_000,
    },
    audio: { steps: [40, 120], warmupMs: 150, durationMs: 600, drainMs: 400, settleMs: 30, budgetMs: 10_000 },
    idle: { steps: [40], warmup: 5 },
    appstart: { steps: [5], warmup: 1 },
    setup: { steps: [200], concurrency: 50, warmup: 5 },
    churn: { steps: [30], rate: 60, concurrency: 16, warmup: 5 },
    fairness: {
      users: 10,
      steps: [200],
      warmupMs: 150,
      durationMs: 600,
      drainMs: 400,
      settleMs: 30,
      garbagePerS: 400,
      garbageBytes: GARBAGE_BYTES,
      bigEveryMs: 150,
      bigSizes: BIG_FRAMES,
    },
    failover: { steps: [100] },
    transcription: { steps: [20], warmupMs: 300, durationMs: 600, drainMs: 600, settleMs: 30, budgetMs: 8_000 },
    cluster: {
      steps: [20],
      eventsPerUserPerS: 50,
      setupSessions: 20,
      setupConcurrency: 8,
      adminCalls: 50,
      warmupMs: 150,
      durationMs: 600,
      drainMs: 400,
      settleMs: 30,
      budgetMs: 15_000,
    },
  },
  tiny: {
    budgetMs: 90_000,
    keepAliveMs: 250,
    reuseServers: true,
    graceMs: 300,
    relay: { users: 3, steps: [100], warmupMs: 100, durationMs: 500, drainMs: 500, settleMs: 50 },
    audio: { steps: [3], warmupMs: 100, durationMs: 500, drainMs: 500, settleMs: 50 },
    idle: { steps: [5], warmup: 2 },
    appstart: { steps: [3], warmup: 1 },
    setup: { steps: [10], concurrency: 5, warmup: 2 },
    churn: { steps: [5], rate: 20, concurrency: 4, warmup: 2 },
    fairness: {
      users: 3,
      steps: [60],
      warmupMs: 100,
      durationMs: 500,
      drainMs: 500,
      settleMs: 50,
      garbagePerS: 400,
      garbageBytes: GARBAGE_BYTES,
      bigEveryMs: 100,
      bigSizes: BIG_FRAMES,
    },
    failover: { steps: [5] },
    transcription: { steps: [2], warmupMs: 300, durationMs: 1000, drainMs: 700, settleMs: 50 },
    cluster: {
      steps: [3],
      eventsPerUserPerS: 33,
      setupSessions: 3,
      setupConcurrency: 3,
      adminCalls: 10,
      warmupMs: 100,
      durationMs: 500,
      drainMs: 500,
      settleMs: 50,
    },
  },
};

export const TARGETS = {
  relay: 'capacity ≥ 0.9 × baseline; p99 at ½ baseline capacity ≤ 1.2 × baseline',
  audio: 'users ≥ 0.9 × baseline and ≥ 1,000',
  idle: '≤ 100 KB heap per idle session; heap back within 5 % after close + grace',
  setup: 'N sessions set up ≤ 1.5 × baseline time; start p99 with 50 in flight ≤ 3 × baseline',
  appstart: 'cloud overhead ≤ 5 ms at p50',
  churn: '0 sessions, 0 sockets afterwards; heap back within 5 %',
  fairness: "other users' button-press p99 < 50 ms while one socket sends garbage at its limit",
  failover: '— (measurement: time until every app runs again after a restart, with its breakdown)',
  transcription: '— (measurement: ours with transcription vs ours relaying audio only)',
  cluster: 'server CPU per relayed event and audio frame in cluster mode ≥ 0.95 of single mode efficiency',
};

const HELP = `usage: node bench/run.mjs [flags]
  --quick                 small loads, whole run ≤ 100 s (smoke check)
  --tiny                  with --quick: a few users, ~1 s per step (used by the test)
  --scenario a,b          any of ${SCENARIOS.join(',')} (default: all)
  --steps x,y             step values for the selected scenario(s); or per scenario: --steps relay=1000,2000
                          (relay: events/s, audio: users, idle: sessions, setup: sessions, appstart: starts,
                          churn: cycles, fairness: button presses/s, failover: users, transcription: users, cluster: users)
  --repeat N              repeats per step and server (default 2; fewer than 2 is allowed but flagged)
  --servers ours,baseline which servers to run (default both); --baseline-only / --ours-only
  --profile               CPU-profile our server (inspector) during one extra run of its heaviest step
  --profile=churn         … or of a given scenario (relay / audio: its heaviest step; churn: one repeat)
  --out DIR               where latest.md and <timestamp>.json go (default bench/results)
  --keep-logs             keep the temp dir with server / load-generator logs
  --nice N                run servers, load generators and stub at nice N (e.g. -10, needs root) so other
                          tenants of a shared machine disturb the measurement less (default: not changed)
  -h, --help`;

export function parseArgs(argv) {
  const o = {
    quick: false,
    tiny: false,
    scenarios: [...SCENARIOS],
    stepsAll: null,
    steps: {},
    repeat: 2,
    servers: ['ours', 'baseline'],
    profile: false,
    out: null,
    keepLogs: false,
    nice: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] =
      a.includes('=') && a.startsWith('--') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, null];
    const val = () => {
      if (inline !== null) return inline;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--tiny':
        o.tiny = true;
        break;
      case '--profile':
        // --profile = the heaviest relay/audio step; --profile=relay|audio|churn|setup picks the scenario
        o.profile = inline ? inline.toLowerCase() : true;
        if (o.profile !== true && !['relay', 'audio', 'churn', 'setup'].includes(o.profile))
          throw new Error('--profile=<relay|audio|churn|setup>');
        break;
      case '--keep-logs':
        o.keepLogs = true;
        break;
      case '--baseline-only':
        o.servers = ['baseline'];
        break;
      case '--ours-only':
        o.servers = ['ours'];
        break;
      case '--servers':
        o.servers = val()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--out':
        o.out = val();
        break;
      case '--nice':
        o.nice = Math.trunc(Number(val())) || 0;
        break;
      case '--repeat':
        o.repeat = Math.max(1, Math.floor(Number(val())));
        break;
      case '--scenario':
      case '--scenarios': {
        const list = val()
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean);
        for (const s of list)
          if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (known: ${SCENARIOS.join(', ')})`);
        o.scenarios = SCENARIOS.filter((s) => list.includes(s));
        break;
      }
      case '--steps': {
        const v = val();
        const m = /^([a-z]+)[=:](.+)$/.exec(v);
        const nums = (s) =>
          s
            .split(',')
            .map(Number)
            .filter((x) => Number.isFinite(x) && x > 0);
        if (m) {
          if (!SCENARIOS.includes(m[1])) throw new Error(`--steps: unknown scenario ${m[1]}`);
          o.steps[m[1]] = nums(m[2]);
        } else o.stepsAll = nums(v);
        break;
      }
      case '-h':
      case '--help':
        console.log(HELP);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${a}\n${HELP}`);
    }
  }
  for (const s of o.servers) if (s !== 'ours' && s !== 'baseline') throw new Error(`--servers: unknown server ${s}`);
  if (o.tiny && !o.quick) o.quick = true;
  return o;
}

export function profileFor(opts) {
  const name = opts.tiny ? 'tiny' : opts.quick ? 'quick' : 'full';
  const p = structuredClone(PROFILES[name]);
  for (const s of SCENARIOS) {
    const override = opts.steps[s] ?? opts.stepsAll;
    if (override && override.length) p[s].steps = override;
  }
  return { name, ...p };
}
