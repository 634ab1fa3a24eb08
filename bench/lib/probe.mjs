// Stall probe: a tiny process pinned to one core that wakes every 5 ms and records how late it woke up. On a shared
// VM a whole core can be taken away for hundreds of ms (other tenants, the hypervisor); a measurement during which
// the probe saw such a stall measured the machine, not the server. Commands over IPC: reset, read.
import { performance } from 'node:perf_hooks';

const PERIOD = 5;
let prev = performance.now();
let maxLate = 0;
let stalledMs = 0; // sum of lateness beyond 10 ms
let stalls = 0; // wake-ups more than 10 ms late
let since = prev;

setInterval(() => {
  const now = performance.now();
  const late = now - prev - PERIOD;
  prev = now;
  if (late > maxLate) maxLate = late;
  if (late > 10) {
    stalls++;
    stalledMs += late;
  }
}, PERIOD);

process.on('message', (m) => {
  if (m?.cmd === 'reset') {
    maxLate = 0;
    stalledMs = 0;
    stalls = 0;
    since = performance.now();
    process.send({ id: m.id, ok: true, result: {} });
  } else if (m?.cmd === 'read') {
    const windowMs = performance.now() - since;
    process.send({
      id: m.id,
      ok: true,
      result: {
        maxStallMs: Math.round(maxLate * 10) / 10,
        stalls,
        stalledPct: windowMs ? Math.round((stalledMs / windowMs) * 1000) / 10 : 0,
        windowMs: Math.round(windowMs),
      },
    });
  } else if (m?.cmd === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
