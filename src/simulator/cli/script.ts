import { isAbsolute, resolve } from 'node:path';
import { isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { resolveModel } from '../device-models.js';

/**
 * The simulator's test scripts: a YAML list of one-key steps. Parsing and
 * validation collect every problem with its line, so one run shows them all.
 */

export const DEFAULT_EXPECT_TIMEOUT_MS = 5000;

interface StepBase {
  /** 1-based position in the script. */
  index: number;
  /** 1-based line in the YAML file (0 when unknown). */
  line: number;
  /** How the step reads in messages, e.g. `expect_display: "Hello"`. */
  label: string;
}

export type Step = StepBase &
  (
    | { kind: 'press'; pressType: 'short' | 'long' }
    | { kind: 'say'; text: string; isFinal: boolean }
    | { kind: 'speak'; text: string }
    | { kind: 'play'; file: string }
    | { kind: 'head'; position: 'up' | 'down' }
    | { kind: 'location'; lat: number; lng: number; accuracy?: number }
    | { kind: 'expect_display'; pattern: RegExp; timeoutMs: number }
    | { kind: 'expect_dashboard'; pattern: RegExp; timeoutMs: number }
    | { kind: 'expect_mic'; enabled: boolean; timeoutMs: number }
    | { kind: 'wait'; ms: number }
    | { kind: 'stop_app'; packageName?: string }
    | { kind: 'start_app'; packageName?: string }
    | { kind: 'reconnect' }
    | { kind: 'touch'; gesture: string }
    | { kind: 'model'; model: string }
    | { kind: 'notification'; title: string; content: string; app?: string }
    | {
        kind: 'tool';
        toolId: string;
        packageName?: string;
        params: Record<string, string | number | boolean>;
        expectReply?: RegExp;
      }
  );

export type StepKind = Step['kind'];

/** What each step takes, for the error message of an unknown step and for `--help`. */
export const STEP_SYNTAX: Record<StepKind, string> = {
  press: 'press: short|long',
  say: 'say: "text"   (a final phone-side transcript; {text, final: false} for an interim one)',
  speak: 'speak: "text"   (espeak-ng speech sent as 16 kHz PCM audio)',
  play: 'play: file.wav   (any PCM/float WAV, resampled to 16 kHz mono; .raw = s16le 16 kHz mono)',
  head: 'head: up|down',
  location: 'location: {lat: 52.52, lng: 13.40, accuracy: 10}',
  expect_display: 'expect_display: "regex"   (main view; timeout_ms: 5000)',
  expect_dashboard: 'expect_dashboard: "regex"   (dashboard view; timeout_ms: 5000)',
  expect_mic: 'expect_mic: on|off   (timeout_ms: 5000)',
  wait: 'wait: 500   (milliseconds)',
  stop_app: 'stop_app   (or stop_app: com.example.app)',
  start_app: 'start_app   (or start_app: com.example.app)',
  reconnect: 'reconnect',
  touch: 'touch: SWIPE_UP   (a gesture name)',
  model: 'model: g2   (switch the simulated glasses model)',
  notification: 'notification: {title: "Hi", content: "text", app: "Messages"}',
  tool: 'tool: my_tool   (or {id: my_tool, app: com.example.app, params: {city: Oslo}, expect_reply: "regex"})',
};

const KINDS = Object.keys(STEP_SYNTAX) as StepKind[];
/** Steps written as a bare word (`- reconnect`), without a value. */
const BARE_OK: ReadonlySet<StepKind> = new Set(['stop_app', 'start_app', 'reconnect']);
const EXPECT_KINDS: ReadonlySet<StepKind> = new Set(['expect_display', 'expect_dashboard', 'expect_mic']);

export class ScriptError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`,
    );
    this.name = 'ScriptError';
  }
}

export interface ParseOptions {
  /** Shown in messages (default "script"). */
  fileName?: string;
  /** `play:` paths are resolved against this folder (default: the current one). */
  baseDir?: string;
}

/** Parses and validates a whole script; throws ScriptError listing every problem. */
export function parseScript(text: string, opts: ParseOptions = {}): Step[] {
  const file = opts.fileName ?? 'script';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScriptError(
      file,
      doc.errors.map(
        (e) =>
          `line ${e.linePos?.[0]?.line ?? '?'}: YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      ),
    );
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    throw new ScriptError(file, ['the script is empty: write a YAML list of steps, e.g. "- press: short"']);
  }
  if (!isSeq(root)) {
    throw new ScriptError(file, [
      'the script must be a YAML list of steps ("- press: short"), not a single value or mapping',
    ]);
  }
  const values = doc.toJS({ maxAliasCount: 100 }) as unknown[];
  const steps: Step[] = [];
  const problems: string[] = [];
  root.items.forEach((item, i) => {
    const index = i + 1;
    const node = item as YamlNode | null;
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
    const where = `line ${line || '?'}: step ${index}`;
    try {
      steps.push(parseStep(values[i], index, line, opts));
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  });
  if (problems.length > 0) throw new ScriptError(file, problems);
  if (steps.length === 0) throw new ScriptError(file, ['the script has no steps']);
  return steps;
}

/** One step from its plain JS value (what YAML parsed), or an Error saying what is wrong. */
export function parseStep(raw: unknown, index = 1, line = 0, opts: ParseOptions = {}): Step {
  const value = raw;
  let kind: string;
  let arg: unknown;
  let extra: Record<string, unknown> = {};
  if (typeof value === 'string') {
    kind = value.trim();
    arg = undefined;
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    const stepKeys = entries.filter(([k]) => k !== 'timeout_ms');
    if (stepKeys.length !== 1) {
      throw new Error(
        stepKeys.length === 0
          ? 'a step needs one key naming it, e.g. "press: short"'
          : `a step has exactly one key, got ${stepKeys.map(([k]) => JSON.stringify(k)).join(', ')} (start a new list item with "-" for each step)`,
      );
    }
    [kind, arg] = stepKeys[0]!;
    extra = Object.fromEntries(entries.filter(([k]) => k === 'timeout_ms'));
  } else {
    throw new Error(`a step must be a one-key mapping like "press: short", got ${describe(value)}`);
  }
  if (!KINDS.includes(kind as StepKind)) {
    const hint = closest(kind, KINDS);
    throw new Error(
      `unknown step "${kind}"${hint ? ` (did you mean "${hint}"?)` : ''}; known steps: ${KINDS.join(', ')}`,
    );
  }
  const k = kind as StepKind;
  if ('timeout_ms' in extra && !EXPECT_KINDS.has(k))
    throw new Error(`timeout_ms only applies to expect_* steps, not ${k}`);
  if (arg === undefined || arg === null) {
    if (!BARE_OK.has(k)) throw new Error(`${k} needs a value: ${STEP_SYNTAX[k]}`);
  }
  const base = { index, line, label: labelOf(k, arg) };
  switch (k) {
    case 'press': {
      const p = String(arg).toLowerCase();
      if (p !== 'short' && p !== 'long') throw new Error(`press takes short or long, got ${describe(arg)}`);
      return { ...base, kind: k, pressType: p };
    }
    case 'say': {
      if (isPlainObject(arg)) {
        const o = arg as Record<string, unknown>;
        checkKeys(o, ['text', 'final'], k);
        if (typeof o.text !== 'string' || !o.text.trim()) throw new Error('say needs non-empty text');
        if (o.final !== undefined && typeof o.final !== 'boolean') throw new Error('say: final must be true or false');
        return { ...base, kind: k, text: o.text, isFinal: o.final !== false };
      }
      return { ...base, kind: k, text: nonEmptyText(arg, k), isFinal: true };
    }
    case 'speak':
      return { ...base, kind: k, text: nonEmptyText(arg, k) };
    case 'play': {
      const f = nonEmptyText(arg, k);
      return { ...base, kind: k, file: isAbsolute(f) ? f : resolve(opts.baseDir ?? process.cwd(), f) };
    }
    case 'head': {
      const p = String(arg).toLowerCase();
      if (p !== 'up' && p !== 'down') throw new Error(`head takes up or down, got ${describe(arg)}`);
      return { ...base, kind: k, position: p };
    }
    case 'location': {
      if (!isPlainObject(arg)) throw new Error(`location takes {lat, lng}, got ${describe(arg)}`);
      const o = arg as Record<string, unknown>;
      checkKeys(o, ['lat', 'lng', 'accuracy'], k);
      const lat = o.lat;
      const lng = o.lng;
      if (typeof lat !== 'number' || !Number.isFinite(lat) || lat < -90 || lat > 90)
        throw new Error(`location: lat must be a number in [-90, 90], got ${describe(lat)}`);
      if (typeof lng !== 'number' || !Number.isFinite(lng) || lng < -180 || lng > 180)
        throw new Error(`location: lng must be a number in [-180, 180], got ${describe(lng)}`);
      if (o.accuracy !== undefined && (typeof o.accuracy !== 'number' || o.accuracy < 0))
        throw new Error('location: accuracy must be a number ≥ 0 (metres)');
      return { ...base, kind: k, lat, lng, ...(o.accuracy !== undefined ? { accuracy: o.accuracy as number } : {}) };
    }
    case 'expect_display':
    case 'expect_dashboard': {
      let source: unknown = arg;
      let timeout: unknown = extra.timeout_ms;
      if (isPlainObject(arg)) {
        const o = arg as Record<string, unknown>;
        checkKeys(o, ['text', 'regex', 'pattern', 'timeout_ms'], k);
        source = o.regex ?? o.pattern ?? o.text;
        timeout = o.timeout_ms ?? timeout;
      }
      if (typeof source === 'number') source = String(source);
      if (typeof source !== 'string' || source === '')
        throw new Error(`${k} needs a regular expression string, got ${describe(source)}`);
      return { ...base, kind: k, pattern: compilePattern(source), timeoutMs: timeoutOf(timeout, k) };
    }
    case 'expect_mic': {
      let v: unknown = arg;
      let timeout: unknown = extra.timeout_ms;
      if (isPlainObject(arg)) {
        const o = arg as Record<string, unknown>;
        checkKeys(o, ['state', 'timeout_ms'], k);
        v = o.state;
        timeout = o.timeout_ms ?? timeout;
      }
      const enabled = onOff(v);
      if (enabled === null) throw new Error(`expect_mic takes on or off, got ${describe(v)}`);
      return { ...base, kind: k, enabled, timeoutMs: timeoutOf(timeout, k) };
    }
    case 'wait': {
      const ms = typeof arg === 'string' && /^\d+(\.\d+)?$/.test(arg.trim()) ? Number(arg) : arg;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 3_600_000)
        throw new Error(`wait takes milliseconds (0 to 3600000), got ${describe(arg)}`);
      return { ...base, kind: k, ms };
    }
    case 'stop_app':
    case 'start_app': {
      if (arg === undefined || arg === null) return { ...base, kind: k };
      return { ...base, kind: k, packageName: nonEmptyText(arg, k) };
    }
    case 'reconnect':
      if (arg !== undefined && arg !== null) throw new Error(`reconnect takes no value, got ${describe(arg)}`);
      return { ...base, kind: k };
    case 'touch':
      return { ...base, kind: k, gesture: nonEmptyText(arg, k) };
    case 'model': {
      const name = nonEmptyText(arg, k);
      return { ...base, kind: k, model: resolveModel(name).name };
    }
    case 'notification': {
      if (!isPlainObject(arg)) throw new Error(`notification takes {title, content, app?}, got ${describe(arg)}`);
      const o = arg as Record<string, unknown>;
      checkKeys(o, ['title', 'content', 'app'], k);
      if (typeof o.title !== 'string' || typeof o.content !== 'string')
        throw new Error('notification needs string title and content');
      if (o.app !== undefined && typeof o.app !== 'string') throw new Error('notification: app must be a string');
      return { ...base, kind: k, title: o.title, content: o.content, ...(o.app ? { app: o.app } : {}) };
    }
    case 'tool': {
      if (!isPlainObject(arg)) return { ...base, kind: k, toolId: nonEmptyText(arg, k), params: {} };
      const o = arg as Record<string, unknown>;
      checkKeys(o, ['id', 'app', 'params', 'expect_reply'], k);
      if (typeof o.id !== 'string' || !o.id.trim()) throw new Error('tool needs an id: {id: my_tool}');
      if (o.app !== undefined && (typeof o.app !== 'string' || !o.app.trim()))
        throw new Error('tool: app must be a package name');
      const params: Record<string, string | number | boolean> = {};
      if (o.params !== undefined) {
        if (!isPlainObject(o.params)) throw new Error(`tool: params must be a mapping, got ${describe(o.params)}`);
        for (const [name, v] of Object.entries(o.params as Record<string, unknown>)) {
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
            throw new Error(`tool: params.${name} must be a string, number or boolean, got ${describe(v)}`);
          params[name] = v;
        }
      }
      let expectReply: RegExp | undefined;
      if (o.expect_reply !== undefined) {
        if (typeof o.expect_reply !== 'string' || o.expect_reply === '')
          throw new Error(`tool: expect_reply needs a regular expression string, got ${describe(o.expect_reply)}`);
        expectReply = compilePattern(o.expect_reply);
      }
      return {
        ...base,
        kind: k,
        toolId: o.id,
        params,
        ...(o.app ? { packageName: o.app as string } : {}),
        ...(expectReply ? { expectReply } : {}),
      };
    }
  }
}

/**
 * `"Hello.*"` is a regular expression; `/hello/i` (slashes) carries flags. A plain string with
 * regex characters is still a regex: quote them (`\\.`) to match literally.
 */
export function compilePattern(source: string): RegExp {
  const literal = /^\/(.+)\/([a-z]*)$/s.exec(source);
  try {
    if (literal) return new RegExp(literal[1]!, literal[2]!.replace(/[gy]/g, ''));
    return new RegExp(source);
  } catch (err) {
    throw new Error(
      `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
      { cause: err },
    );
  }
}

function timeoutOf(v: unknown, kind: string): number {
  if (v === undefined || v === null) return DEFAULT_EXPECT_TIMEOUT_MS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 600_000) {
    throw new Error(`${kind}: timeout_ms must be a whole number of milliseconds (0 to 600000), got ${describe(v)}`);
  }
  return v;
}

function onOff(v: unknown): boolean | null {
  if (v === true || v === false) return v;
  const s = String(v).toLowerCase();
  if (['on', 'true', 'yes', 'enabled'].includes(s)) return true;
  if (['off', 'false', 'no', 'disabled'].includes(s)) return false;
  return null;
}

function nonEmptyText(v: unknown, kind: string): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`${kind} needs a non-empty string, got ${describe(v)}`);
  return v;
}

function checkKeys(o: Record<string, unknown>, allowed: string[], kind: string): void {
  const bad = Object.keys(o).filter((key) => !allowed.includes(key));
  if (bad.length > 0)
    throw new Error(
      `${kind}: unknown field${bad.length > 1 ? 's' : ''} ${bad.join(', ')} (allowed: ${allowed.join(', ')})`,
    );
}

function labelOf(kind: StepKind, arg: unknown): string {
  if (arg === undefined || arg === null) return kind;
  const quote =
    typeof arg === 'string' &&
    (/^(say|speak|expect_display|expect_dashboard)$/.test(kind) || !/^[\w./@:+-]+$/.test(arg));
  const text = typeof arg === 'string' && !quote ? arg : (JSON.stringify(arg) ?? String(arg));
  return `${kind}: ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The known name within edit distance 2, if any (for "did you mean"). */
function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(
        dp[i - 1]![j]! + 1,
        dp[i]![j - 1]! + 1,
        dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return dp[a.length]![b.length]!;
}
