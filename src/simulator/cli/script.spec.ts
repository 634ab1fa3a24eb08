import { describe, expect, it } from 'vitest';
import { compilePattern, DEFAULT_EXPECT_TIMEOUT_MS, parseScript, ScriptError, type Step } from './script.js';

function problems(text: string): string[] {
  try {
    parseScript(text, { fileName: 'steps.yaml', baseDir: '/scripts' });
  } catch (err) {
    expect(err).toBeInstanceOf(ScriptError);
    return (err as ScriptError).problems;
  }
  throw new Error('expected a ScriptError');
}

describe('parseScript: every step the script format has', () => {
  it('parses the full step list with lines, labels and defaults', () => {
    const steps = parseScript(
      [
        '# a comment',
        '- press: short',
        '- press: long',
        '- say: "hello there"',
        '- speak: "testing one two"',
        '- play: audio/hello.wav',
        '- head: up',
        '- location: {lat: 52.52, lng: 13.405}',
        '- expect_display: "Hello.*"',
        '- expect_dashboard: "presses"',
        '  timeout_ms: 8000',
        '- expect_mic: on',
        '- wait: 250',
        '- stop_app',
        '- reconnect',
        '- start_app: com.example.other',
        '- touch: SWIPE_UP',
        '- model: g2',
        '- notification: {title: Alice, content: "Lunch?"}',
      ].join('\n'),
      { baseDir: '/scripts' },
    );
    const kinds = steps.map((s) => s.kind);
    expect(kinds).toEqual([
      'press',
      'press',
      'say',
      'speak',
      'play',
      'head',
      'location',
      'expect_display',
      'expect_dashboard',
      'expect_mic',
      'wait',
      'stop_app',
      'reconnect',
      'start_app',
      'touch',
      'model',
      'notification',
    ]);
    const by = <K extends Step['kind']>(i: number, _k: K) => steps[i] as Extract<Step, { kind: K }>;
    expect(by(0, 'press')).toMatchObject({ pressType: 'short', index: 1, line: 2, label: 'press: short' });
    expect(by(1, 'press').pressType).toBe('long');
    expect(by(2, 'say')).toMatchObject({ text: 'hello there', isFinal: true, label: 'say: "hello there"' });
    expect(by(4, 'play').file).toBe('/scripts/audio/hello.wav');
    expect(by(5, 'head').position).toBe('up');
    expect(by(6, 'location')).toMatchObject({ lat: 52.52, lng: 13.405 });
    expect(by(7, 'expect_display').pattern.test('Hello world')).toBe(true);
    expect(by(7, 'expect_display').timeoutMs).toBe(DEFAULT_EXPECT_TIMEOUT_MS);
    expect(by(8, 'expect_dashboard')).toMatchObject({ timeoutMs: 8000, line: 10 });
    expect(by(9, 'expect_mic').enabled).toBe(true);
    expect(by(10, 'wait').ms).toBe(250);
    expect(by(11, 'stop_app').packageName).toBeUndefined();
    expect(by(13, 'start_app').packageName).toBe('com.example.other');
    expect(by(15, 'model').model).toBe('Even Realities G2');
    expect(by(16, 'notification')).toMatchObject({ title: 'Alice', content: 'Lunch?' });
  });

  it('accepts the object forms and YAML booleans for on/off', () => {
    const steps = parseScript(
      [
        '- expect_display: {regex: "^Done$", timeout_ms: 100}',
        '- expect_mic: false',
        '- expect_mic: {state: off, timeout_ms: 0}',
        '- say: {text: partial, final: false}',
        '- stop_app: com.example.notes',
      ].join('\n'),
    );
    expect(steps[0]).toMatchObject({ kind: 'expect_display', timeoutMs: 100 });
    expect(steps[1]).toMatchObject({ kind: 'expect_mic', enabled: false });
    expect(steps[2]).toMatchObject({ kind: 'expect_mic', enabled: false, timeoutMs: 0 });
    expect(steps[3]).toMatchObject({ kind: 'say', text: 'partial', isFinal: false });
    expect(steps[4]).toMatchObject({ kind: 'stop_app', packageName: 'com.example.notes' });
  });

  it('reads /regex/flags literals and refuses invalid regular expressions', () => {
    expect(compilePattern('/button: LONG/i').test('Button: long press')).toBe(true);
    expect(compilePattern('a.c').test('abc')).toBe(true);
    expect(() => compilePattern('(unclosed')).toThrow(/invalid regular expression "\(unclosed"/);
  });
});

describe('parseScript: clear errors, all at once, with lines', () => {
  it('names an unknown step, suggests the closest and lists the known ones', () => {
    const p = problems('- press: short\n- prss: long\n');
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /^line 2: step 2: unknown step "prss" \(did you mean "press"\?\); known steps: press, say, speak/,
    );
  });

  it('collects every problem of a script', () => {
    const p = problems(
      [
        '- press: medium',
        '- head: sideways',
        '- wait: soon',
        '- expect_display: "(x"',
        '- location: {lat: 200, lng: 0}',
        '- say: ""',
        '- expect_mic: maybe',
        '- press: short',
        '  say: hi',
        '- timeout_ms: 5',
        '- wait: 1',
        '  timeout_ms: 5',
        '- speak',
        '- 42',
        '- model: g7',
        '- location: {lat: 1, lng: 2, alt: 3}',
      ].join('\n'),
    );
    expect(p).toEqual([
      expect.stringMatching(/^line 1: step 1: press takes short or long, got string "medium"/),
      expect.stringMatching(/^line 2: step 2: head takes up or down/),
      expect.stringMatching(/^line 3: step 3: wait takes milliseconds/),
      expect.stringMatching(/^line 4: step 4: invalid regular expression/),
      expect.stringMatching(/^line 5: step 5: location: lat must be a number in \[-90, 90\]/),
      expect.stringMatching(/^line 6: step 6: say needs a non-empty string/),
      expect.stringMatching(/^line 7: step 7: expect_mic takes on or off/),
      expect.stringMatching(/^line 8: step 8: a step has exactly one key, got "press", "say"/),
      expect.stringMatching(/^line 10: step 9: a step needs one key naming it/),
      expect.stringMatching(/^line 11: step 10: timeout_ms only applies to expect_\* steps, not wait/),
      expect.stringMatching(/^line 13: step 11: speak needs a value: speak: "text"/),
      expect.stringMatching(/^line 14: step 12: a step must be a one-key mapping like "press: short", got number 42/),
      expect.stringMatching(/^line 15: step 13: Unknown glasses model "g7"/),
      expect.stringMatching(/^line 16: step 14: location: unknown field alt/),
    ]);
  });

  it('refuses YAML syntax errors, empty scripts and non-lists', () => {
    expect(problems('- expect_display: /a: b/\n')[0]).toMatch(/^line 1: YAML syntax error: /);
    expect(problems('')[0]).toMatch(/the script is empty/);
    expect(problems('press: short\n')[0]).toMatch(/must be a YAML list of steps/);
    expect(problems('[]\n')[0]).toMatch(/has no steps/);
    expect(problems('- press: short\n- press: short\n  press: long\n')[0]).toMatch(
      /line 3: YAML syntax error: Map keys must be unique/,
    );
  });

  it('parses tool steps: a bare id, or id with app, params and an expected reply', () => {
    const [bare, full] = parseScript(
      [
        '- tool: my_tool_name',
        '- tool: {id: forecast, app: com.example.weather, params: {city: Oslo, days: 3, metric: true}, expect_reply: "^Oslo"}',
      ].join('\n'),
    );
    expect(bare).toMatchObject({ kind: 'tool', toolId: 'my_tool_name', params: {}, label: 'tool: my_tool_name' });
    expect(bare).not.toHaveProperty('packageName');
    expect(full).toMatchObject({
      kind: 'tool',
      toolId: 'forecast',
      packageName: 'com.example.weather',
      params: { city: 'Oslo', days: 3, metric: true },
    });
    expect((full as Extract<Step, { kind: 'tool' }>).expectReply).toEqual(/^Oslo/);
    expect(
      problems(
        [
          '- tool',
          '- tool: {app: com.example.x}',
          '- tool: {id: t, params: [1]}',
          '- tool: {id: t, params: {a: {b: 1}}}',
          '- tool: {id: t, reply: x}',
          '- tool: {id: t, expect_reply: "("}',
        ].join('\n'),
      ),
    ).toEqual([
      expect.stringMatching(/^line 1: step 1: tool needs a value: tool: my_tool/),
      expect.stringMatching(/^line 2: step 2: tool needs an id/),
      expect.stringMatching(/^line 3: step 3: tool: params must be a mapping, got a list/),
      expect.stringMatching(/^line 4: step 4: tool: params\.a must be a string, number or boolean, got a mapping/),
      expect.stringMatching(/^line 5: step 5: tool: unknown field reply/),
      expect.stringMatching(/^line 6: step 6: invalid regular expression/),
    ]);
  });

  it('names the file in the error message', () => {
    expect(() => parseScript('- nope', { fileName: 'ci.yaml' })).toThrow(
      /^ci\.yaml: line 1: step 1: unknown step "nope"/,
    );
  });
});
