import { matchesText, layoutToText } from '../layout-text.js';
import type { DisplayEvent, ViewName } from '../glasses-protocol.types.js';
import { AudioFileError, loadAudioFile, synthesizeSpeech } from './audio.js';
import type { Step } from './script.js';
import { startApp, stopApp, type Out, type SimSession } from './session.js';

/**
 * Runs script steps against a connected SimSession. Expectations look at what arrived since
 * the last action step (and at the current display), so `press` → `expect_display` never
 * races the app's answer.
 */

export interface PreparedScript {
  steps: Step[];
  /** PCM s16le 16 kHz mono per `play` / `speak` step index. */
  audio: Map<number, Buffer>;
}

export interface StepFailure {
  step: Step;
  message: string;
}

export interface RunResult {
  ok: boolean;
  passed: number;
  failure?: StepFailure;
}

/**
 * Everything that can fail before the cloud is involved: audio files are read and converted,
 * speech is synthesized, app steps have an app. Throws AudioFileError / Error (exit 2).
 */
export async function prepareScript(
  steps: Step[],
  opts: { apps: string[]; synthesize?: (text: string) => Promise<Buffer> },
): Promise<PreparedScript> {
  const audio = new Map<number, Buffer>();
  const problems: string[] = [];
  const synth = opts.synthesize ?? ((t: string) => synthesizeSpeech(t));
  for (const step of steps) {
    const where = `line ${step.line || '?'}: step ${step.index} (${step.label})`;
    try {
      if (step.kind === 'play') audio.set(step.index, await loadAudioFile(step.file));
      else if (step.kind === 'speak') audio.set(step.index, await synth(step.text));
      else if (
        (step.kind === 'stop_app' || step.kind === 'start_app' || step.kind === 'tool') &&
        !step.packageName &&
        opts.apps.length === 0
      ) {
        throw new Error(`${step.kind} needs a package name when no --app is given`);
      }
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new AudioFileError(problems.join('\n'));
  return { steps, audio };
}

interface SeenDisplay {
  seq: number;
  view: ViewName;
  text: string;
  packageName?: string;
}

export async function runSteps(session: SimSession, script: PreparedScript, out: Out): Promise<RunResult> {
  const g = session.glasses;
  const displays: SeenDisplay[] = [];
  let seq = 0;
  const onDisplay = (m: DisplayEvent): void => {
    displays.push({
      seq: ++seq,
      view: m.view === 'dashboard' ? 'dashboard' : 'main',
      text: layoutToText(m.layout),
      packageName: m.packageName,
    });
    if (displays.length > 500) displays.splice(0, 100);
  };
  g.on('msg:display_event', onDisplay);
  /** Display sequence number and message-log mark at the last action step. */
  let actionSeq = 0;
  let actionMark = g.mark();
  let actionStep = 0;
  let passed = 0;
  try {
    for (const step of script.steps) {
      const started = Date.now();
      const isExpect = step.kind.startsWith('expect_') || step.kind === 'wait';
      if (!isExpect) {
        actionSeq = seq;
        actionMark = g.mark();
        actionStep = step.index;
      }
      try {
        await runStep(step);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        out(`✗ ${step.index}. ${step.label}   [line ${step.line}]`);
        for (const l of message.split('\n')) out(`    ${l}`);
        return { ok: false, passed, failure: { step, message } };
      }
      passed++;
      out(`✓ ${step.index}. ${step.label}   (${Date.now() - started} ms)`);
    }
    return { ok: true, passed };
  } finally {
    g.off('msg:display_event', onDisplay);
  }

  async function runStep(step: Step): Promise<void> {
    switch (step.kind) {
      case 'press':
        g.pressButton(step.pressType);
        return;
      case 'say':
        g.sendTranscript(step.text, { isFinal: step.isFinal });
        return;
      case 'speak':
      case 'play': {
        const pcm = script.audio.get(step.index);
        if (!pcm) throw new Error('internal: audio was not prepared');
        g.vad(true);
        const r = await g.streamPcm(pcm);
        if (g.isOpen) g.vad(false);
        if (r.aborted) throw new Error(`the socket closed after ${r.bytesSent} of ${pcm.length} audio bytes`);
        return;
      }
      case 'head':
        g.headPosition(step.position);
        return;
      case 'location':
        g.setLocation(step.lat, step.lng, step.accuracy);
        return;
      case 'touch':
        g.touch(step.gesture);
        return;
      case 'model':
        g.setModel(step.model);
        return;
      case 'notification':
        g.notification({ title: step.title, content: step.content, app: step.app });
        return;
      case 'wait':
        await new Promise((r) => setTimeout(r, step.ms));
        return;
      case 'reconnect':
        await g.reconnect();
        return;
      case 'start_app':
        await startApp(session, step.packageName ?? session.opts.apps[0]!, () => undefined);
        return;
      case 'stop_app': {
        const pkg = step.packageName ?? session.opts.apps[0]!;
        if (!(await stopApp(session, pkg))) throw new Error(`${pkg} was not running`);
        return;
      }
      case 'tool': {
        const pkg = step.packageName ?? session.opts.apps[0]!;
        let reply: unknown;
        try {
          reply = await session.admin.callTool(session.opts.userId, pkg, step.toolId, step.params);
        } catch (err) {
          throw new Error(`the tool call failed: ${(err as Error).message}`, { cause: err });
        }
        const text = typeof reply === 'string' ? reply : JSON.stringify(reply);
        if (step.expectReply && !step.expectReply.test(text))
          throw new Error(
            `the reply of ${step.toolId} did not match ${step.expectReply}\nseen instead: ${JSON.stringify(truncate(text, 200))}`,
          );
        out(`    ↳ ${step.toolId} replied ${JSON.stringify(truncate(text, 200))}`);
        return;
      }
      case 'expect_display':
      case 'expect_dashboard': {
        const view: ViewName = step.kind === 'expect_display' ? 'main' : 'dashboard';
        const current = g.state.display[view];
        const matchedSince = displays.find(
          (d) => d.seq > actionSeq && d.view === view && matchesText(d.text, step.pattern),
        );
        if (matchedSince || (current && matchesText(layoutToText(current.layout), step.pattern))) return;
        try {
          await g.waitForDisplay(step.pattern, { view, since: actionMark, timeoutMs: step.timeoutMs });
        } catch (err) {
          throw new Error(
            describeDisplayMiss(
              view,
              step.pattern,
              step.timeoutMs,
              g.displayText(view),
              displays.filter((d) => d.seq > actionSeq && d.view === view),
              actionStep,
              err,
            ),
            { cause: err },
          );
        }
        return;
      }
      case 'expect_mic':
        try {
          await g.waitForMic(step.enabled, { timeoutMs: step.timeoutMs });
        } catch (err) {
          const s = g.state;
          throw new Error(
            `the microphone did not turn ${step.enabled ? 'on' : 'off'} within ${step.timeoutMs} ms\n` +
              `seen instead: mic ${s.micEnabled ? 'on' : 'off'}${s.lastMicMessage ? ` (last microphone_state_change: ${JSON.stringify({ isMicrophoneEnabled: s.lastMicMessage.isMicrophoneEnabled, requiredData: s.lastMicMessage.requiredData })})` : ' (no microphone_state_change received)'}`,
            { cause: err },
          );
        }
        return;
    }
  }
}

function describeDisplayMiss(
  view: ViewName,
  pattern: RegExp,
  timeoutMs: number,
  now: string,
  since: SeenDisplay[],
  actionStep: number,
  err: unknown,
): string {
  const where = view === 'main' ? 'main view' : 'dashboard';
  const list = since.length
    ? since
        .slice(-6)
        .map((d) => `${JSON.stringify(truncate(d.text, 100))}${d.packageName ? ` (${d.packageName})` : ''}`)
        .join(', ')
    : 'none';
  const closed = /socket closed|Stopped waiting/.test((err as Error)?.message ?? '')
    ? ' (the glasses socket closed)'
    : '';
  return (
    `no ${where} display matched ${pattern} within ${timeoutMs} ms${closed}\n` +
    `seen instead: the ${where} shows ${JSON.stringify(truncate(now, 200))}; ${where} displays since ${actionStep ? `step ${actionStep}` : 'the start'}: ${list}`
  );
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
