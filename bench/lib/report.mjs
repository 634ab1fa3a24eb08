// Markdown rendering of a bench result (summary table + per-step detail).
const SCN_TITLE = {
  relay: '1. Event relay',
  audio: '2. Audio',
  idle: '3. Idle sessions',
  appstart: '4. App start',
  churn: '5. Churn',
  transcription: '6. Transcription',
  cluster: '7. Cluster mode',
  setup: '8. Set-up',
  fairness: '9. Fairness',
  failover: '10. Failover storm',
};

const num = (x, d = 1) =>
  x == null || !Number.isFinite(x) ? 'n/a' : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(d);
const cell = (v) => (v == null ? 'n/a' : typeof v === 'number' ? num(v, 2) : String(v));
const met = (m) => (m === true ? 'yes' : m === false ? '**NO**' : '—');

/** "median [min–max]" of a summarized field. */
function ms(s, d = 1) {
  if (!s || s.median == null) return 'n/a';
  if (s.n <= 1 || s.min === s.max) return num(s.median, d);
  return `${num(s.median, d)} [${num(s.min, d)}–${num(s.max, d)}]`;
}

function table(head, rows) {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(res) {
  const m = res.meta;
  const out = [];
  out.push(`# Benchmark: our cloud vs a bare \`ws\` relay`);
  out.push('');
  out.push(
    `- Date: ${m.date} · run time ${Math.round(m.runMs / 1000)} s · profile **${m.profile}** · ${m.repeat} repeats per step and server, interleaved (order alternates)`,
  );
  out.push(`- Machine: ${m.cpuModel} · ${m.cores} cores · ${Math.round(m.memGB)} GB · ${m.platform}`);
  out.push(`- Node ${m.node} · commit ${m.commit} · ws ${m.wsVersion} · @mentra/sdk ${m.sdkVersion}`);
  out.push(
    `- Pinned: ${m.pinned ? `yes — ${m.pinReason}` : `no — ${m.pinReason}`} · scheduling priority: ${m.nice ? `nice ${m.nice}` : 'default'}`,
  );
  out.push(
    `- Servers: ${m.servers.join(', ')} · loopback only · figures are median [min–max] over repeats; ratio = ours / baseline`,
  );
  out.push('');
  out.push('## Summary');
  out.push('');
  const rows = [];
  for (const name of Object.keys(res.scenarios)) {
    const s = res.scenarios[name];
    if (s.error) {
      rows.push([SCN_TITLE[name], `**error**: ${s.error.split('\n')[0].slice(0, 160)}`, '', '', '', '', '']);
      continue;
    }
    if (s.skipped) {
      rows.push([SCN_TITLE[name], `skipped: ${s.skipped}`, '', '', '', '', '']);
      continue;
    }
    const errCell = (k, v) => (s.serverErrors?.[k] && v == null ? '**error** (below)' : cell(v));
    for (const r of s.summary?.rows ?? [])
      rows.push([
        SCN_TITLE[name],
        r.metric,
        errCell('ours', r.ours),
        errCell('baseline', r.baseline),
        r.ratio == null ? '—' : r.ratio.toFixed(2),
        r.target,
        met(r.met),
      ]);
  }
  out.push(table(['Scenario', 'Metric', 'Ours', 'Baseline', 'Ratio', 'Target', 'Met'], rows));
  out.push('');
  for (const name of Object.keys(res.scenarios)) {
    const s = res.scenarios[name];
    out.push(`## ${SCN_TITLE[name]}`);
    out.push('');
    if (s.skipped) {
      out.push(`Skipped: ${s.skipped}.`);
      out.push('');
      continue;
    }
    if (s.error) {
      out.push('```');
      out.push(s.error.slice(0, 4000));
      out.push('```');
      out.push('');
      if (!s.steps?.length) continue;
    }
    out.push(describe(name, s));
    out.push('');
    out.push(detail(name, s, s.modes ?? m.servers));
    out.push('');
    for (const n of s.notes ?? []) out.push(`- ${n}`);
    if (s.notes?.length) out.push('');
    for (const [k, e] of Object.entries(s.serverErrors ?? {})) {
      out.push(`**${k} failed:**`);
      out.push('');
      out.push('```');
      out.push(e.slice(0, 3000));
      out.push('```');
      out.push('');
    }
  }
  if (res.profile) {
    out.push('## Profile');
    out.push('');
    if (res.profile.error) out.push(`Profiling failed: ${res.profile.error}`);
    else {
      out.push(
        `Our server during ${res.profile.scenario} at ${res.profile.step}: \`${res.profile.file}\` (open in Chrome DevTools → Performance, or speedscope). Self time, top functions:`,
      );
      out.push('');
      out.push(
        table(
          ['Function', 'Self ms', '%'],
          res.profile.hotSpots.map((h) => [`\`${h.fn.replace(/\|/g, '\\|')}\``, String(h.selfMs), String(h.pct)]),
        ),
      );
    }
    out.push('');
  }
  out.push(
    'Reproduce: `npm run bench` (full, ≤ 25 min) or `npm run bench -- --quick` (≤ 100 s); see bench/README.md for flags.',
  );
  out.push('');
  return out.join('\n');
}

function describe(name, s) {
  const c = s.config ?? {};
  switch (name) {
    case 'relay':
      return `${c.users} glasses, each with one app subscribed to button_press + head_position; events round-robin over all glasses (button_press short/long, head_position up/down), ${c.durationMs} ms measured after ${c.warmupMs} ms warm-up per step. Latency = glasses send → app receive, one clock (same load process).`;
    case 'audio':
      return `N glasses each send 3,200-byte PCM16 frames 10×/s (32 KB/s) to one audio_chunk app; ${c.durationMs} ms measured after ${c.warmupMs} ms warm-up. Send time and routing tag ride in the first 16 bytes of the PCM payload (the cloud does not inspect it).`;
    case 'idle':
      return `Heap/RSS after forced GC (\`GET /api/admin/runtime?gc=1\`, twice) before and after opening N sessions (glasses + one running app subscribed to 2 streams); then glasses close, grace ${c.graceMs} ms, heap again. Start heap is measured after a ${c.warmup}-session warm-up.`;
    case 'appstart':
      return `${c.starts} sequential starts per repeat with a real @mentra/sdk 2.1.29 AppServer (logger at warn) on loopback; time from the glasses' start_app to the SDK's onSession (called right after tpa_connection_ack). Floor = same path through a bare stub cloud (no lookups).`;
    case 'transcription':
      return `Ours only, two server instances (both with SONIOX_URL = the Soniox double, its own process, bytesPerWord ${c.double?.bytesPerWord}: one word per frame): N glasses each send \`VAD\` true then 3,200-byte PCM16 frames 10×/s to one \`transcription:en-US\` app ("transcription", Words/s) vs to one \`audio_chunk\` app ("relay", Frames/s); ${c.durationMs} ms measured after ${c.warmupMs} ms warm-up. Text latency = send time of the frame that completed a word → arrival of the first transcript (interim or final) carrying that word, words matched to frames in order per user; relay latency = frame send → app receive. CPU per user = server CPU % / N.`;
    case 'cluster':
      return `Ours only, two server instances: "cluster" (REDIS_URL = a redis-server the bench started, STORE=redis, one process) and "single" (no REDIS_URL, embedded store). ${c.users} users, each with one app subscribed to button_press, head_position and audio_chunk: relay at ${c.relayRate} ev/s and audio at ${c.audioFramesPerS} frames/s, ${c.durationMs} ms measured after ${c.warmupMs} ms warm-up; session set-up of ${c.setupSessions} fresh users per repeat (glasses connect → start_app → app acked + subscribed, ${c.setupConcurrency} at a time); GET /api/admin/cluster (node list from Redis + a node.info bus round trip to each process) and GET /api/admin/sessions/:user for users the first process holds (carried out by that owner over the bus) timed ${c.adminCalls}× each on a second cluster process, vs on the single process.`;
    case 'churn':
      return `${c.cycles} cycles offered at ${c.rate}/s (≤ ${c.concurrency} in flight): glasses connect → start_app → app acked + subscribed → stop_app → app socket closed → glasses close. Then grace ${c.graceMs} ms and GC.`;
    case 'setup':
      return `${c.sessions} sessions (glasses + one running app subscribed to 2 streams), ${c.concurrency} in flight, after a ${c.warmup}-session warm-up; installs are done before and not timed. Time = first upgrade → last app acked and subscribed; start = start_app → app acked and subscribed; connect = upgrade → connection_ack.`;
    case 'fairness':
      return `${c.users} users, each with one app subscribed to button_press; button presses at ${c.rate}/s in all, ${c.durationMs} ms measured after ${c.warmupMs} ms, first without (control), then with one more glasses socket sending garbage: ${c.garbagePerS} text frames/s (alternately ${Math.round((c.garbageBytes ?? 0) / 1024)} KB of unterminated JSON and a small unknown type) and an oversized text frame (${(c.bigSizes ?? []).map((b) => `${Math.round(b / 1024)} KB`).join(', ')}, cycling) every ${c.bigEveryMs} ms, reopened whenever the server closes it.`;
    case 'failover':
      return `${c.users} users (glasses + one running app each) set up; per repeat the server restarts (SIGTERM, then the same command, port and data) and every user's glasses reconnect at once (tokens signed beforehand); the server restores each running app by webhook. Time = first upgrade → last app acked and subscribed again. Ours' breakdown comes from its /metrics (mentra_session_phase_seconds, mean per call and calls during the storm).`;
    default:
      return '';
  }
}

function detail(name, s, servers) {
  if (s.table) return table(s.table.head, s.table.rows);
  const rows = [];
  if (name === 'relay' || name === 'audio' || name === 'transcription') {
    const head = [
      'Step',
      name === 'transcription' ? 'Mode' : 'Server',
      'Reps',
      name === 'relay' ? 'Delivered/s' : name === 'transcription' ? 'Words or frames/s' : 'Frames/s',
      'Loss %',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'Server CPU %',
      'CPU µs/msg',
      'ELD p99 ms (idle ≈ 10)',
      'Load CPU %',
      'Foreign CPU % srv/load core',
      'Max core stall ms',
      'Pass',
    ];
    for (const st of s.steps) {
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          st.label,
          k,
          `${a.reps.length}${a.noisyReps ? ` (${a.noisyReps} noisy)` : ''}`,
          ms(S.deliveredPerS, 0),
          ms(S.lossPct, 2),
          ms(S.p50, 2),
          ms(S.p95, 2),
          ms(S.p99, 2),
          ms(S.max, 1),
          ms(S.serverCpuPct, 0),
          ms(S.cpuUsPerMsg, 1),
          ms(S.eldP99Ms, 1),
          ms(S.loadCpuPct, 0),
          `${num(S.foreignServerCorePct?.median, 0)} / ${num(S.foreignLoadCorePct?.median, 0)}`,
          ms(S.maxStallMs, 0),
          `${a.pass ? 'yes' : `no (${a.why.join(', ')})`}${a.noisy ? ' — noisy' : ''}`,
        ]);
      }
    }
    return table(head, rows);
  }
  if (name === 'idle') {
    const head = [
      'Sessions',
      'Server',
      'Heap/session KB',
      'RSS/session KB',
      'Heap start MB',
      'Heap loaded MB',
      'Heap after close %',
      'Sessions left',
      'Setup ms',
    ];
    for (const st of s.steps) {
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          st.label,
          k,
          ms(S.heapPerSessionKB, 1),
          ms(S.rssPerSessionKB, 1),
          ms(S.heapStartMB, 1),
          ms(S.heapLoadedMB, 1),
          ms(S.heapReturnPct, 1),
          ms(S.sessionsAfter, 0),
          ms(S.setupMs, 0),
        ]);
      }
    }
    return table(head, rows);
  }
  if (name === 'appstart') {
    const head = [
      'Server',
      'p50 ms',
      'p99 ms',
      'max ms',
      'Floor p50',
      'Floor p99',
      'Overhead p50',
      'Overhead p99',
      'Failed',
    ];
    for (const st of s.steps) {
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          k,
          ms(S.p50, 2),
          ms(S.p99, 2),
          ms(S.max, 2),
          ms(S.floorP50, 2),
          ms(S.floorP99, 2),
          ms(S.overheadP50, 2),
          ms(S.overheadP99, 2),
          ms(S.failed, 0),
        ]);
      }
    }
    return table(head, rows);
  }
  if (name === 'churn') {
    const head = [
      'Server',
      'Cycles/s',
      'Cycle p50 ms',
      'Cycle p99 ms',
      'p50 connect / start / stop / close ms',
      'Failed',
      'Server CPU %',
      'Sessions after',
      'Glasses sockets after',
      'App sockets after',
      'Heap growth %',
    ];
    for (const st of s.steps) {
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          k,
          ms(S.cyclesPerS, 1),
          ms(S.p50, 1),
          ms(S.p99, 1),
          `${num(S.connectP50?.median, 1)} / ${num(S.startP50?.median, 1)} / ${num(S.stopP50?.median, 1)} / ${num(S.disconnectP50?.median, 1)}`,
          ms(S.failed, 0),
          ms(S.serverCpuPct, 0),
          ms(S.sessionsAfter, 0),
          ms(S.glassesSocketsAfter, 0),
          ms(S.appSocketsAfter, 0),
          ms(S.heapGrowthPct, 1),
        ]);
      }
    }
    return table(head, rows);
  }
  if (name === 'setup') {
    const head = [
      'Server',
      'Set-up s',
      'Sessions/s',
      'Start p50 / p99 ms',
      'Connect p50 / p99 ms',
      'Server CPU %',
      'Load CPU %',
    ];
    for (const st of s.steps)
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          k,
          ms(
            S.setupMs && {
              ...S.setupMs,
              median: S.setupMs.median / 1000,
              min: S.setupMs.min / 1000,
              max: S.setupMs.max / 1000,
            },
            2,
          ),
          ms(S.sessionsPerS, 0),
          `${num(S.startP50?.median, 1)} / ${num(S.startP99?.median, 1)}`,
          `${num(S.connectP50?.median, 1)} / ${num(S.connectP99?.median, 1)}`,
          ms(S.serverCpuPct, 0),
          ms(S.loadCpuPct, 0),
        ]);
      }
    return table(head, rows);
  }
  if (name === 'fairness') {
    const head = [
      'Server',
      'Reps',
      'p50 ms',
      'p99 ms',
      'Control p99 ms',
      'Loss %',
      'Server CPU %',
      'Load CPU %',
      'Oversized frames',
      'Reconnects',
      'Foreign CPU % srv/load core',
      'Pass',
    ];
    for (const st of s.steps)
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          k,
          `${a.reps.length}${a.noisyReps ? ` (${a.noisyReps} noisy)` : ''}`,
          ms(S.p50, 2),
          ms(S.p99, 2),
          ms(S.controlP99, 2),
          ms(S.lossPct, 2),
          ms(S.serverCpuPct, 0),
          ms(S.loadCpuPct, 0),
          ms(S.attackBig, 0),
          ms(S.attackReconnects, 0),
          `${num(S.foreignServerCorePct?.median, 0)} / ${num(S.foreignLoadCorePct?.median, 0)}`,
          `${a.pass ? 'yes' : `no (${a.why.join(', ')})`}${a.noisy ? ' — noisy' : ''}`,
        ]);
      }
    return table(head, rows);
  }
  if (name === 'failover') {
    const phases = ['auth', 'session_build', 'store_read', 'store_write', 'webhook', 'init', 'app_start'];
    const head = [
      'Server',
      'Not restored',
      'All apps running s',
      'App p50 / p99 ms',
      'Ack p50 / p99 ms',
      'Server CPU %',
      'Load CPU %',
      'Shutdown / boot ms',
      ...phases.map((p) => `${p} mean ms × n`),
    ];
    for (const st of s.steps)
      for (const k of servers) {
        const a = st[k];
        if (!a) continue;
        const S = a.summary;
        rows.push([
          k,
          ms(S.notRestored, 0),
          ms(
            S.allAppsMs && {
              ...S.allAppsMs,
              median: S.allAppsMs.median / 1000,
              min: S.allAppsMs.min / 1000,
              max: S.allAppsMs.max / 1000,
            },
            2,
          ),
          `${num(S.appP50?.median, 1)} / ${num(S.appP99?.median, 1)}`,
          `${num(S.ackP50?.median, 1)} / ${num(S.ackP99?.median, 1)}`,
          ms(S.serverCpuPct, 0),
          ms(S.loadCpuPct, 0),
          `${num(S.shutdownMs?.median, 0)} / ${num(S.bootMs?.median, 0)}`,
          ...phases.map((p) =>
            S[`${p}MeanMs`] ? `${num(S[`${p}MeanMs`].median, 2)} × ${num(S[`${p}Count`]?.median, 0)}` : '—',
          ),
        ]);
      }
    return table(head, rows);
  }
  return '';
}
