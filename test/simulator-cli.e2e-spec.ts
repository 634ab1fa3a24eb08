import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateToneHz, floatToPcm16, pcmToWav, synthesizeSpeech } from '../src/simulator/cli/audio.js';
import { freePort, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp } from './support/sdk-app.js';
import { REPO_ROOT, runSimCli, startExampleApp, type ExampleAppHandle } from './support/sim-harness.js';

/**
 * `npm run sim` as a child process against the real service and a real @mentra/sdk app
 * (button → display, transcription → display, audio counted): the CI use of the simulator.
 */
describe('simulator CLI: scripts against the real cloud and an SDK app', () => {
  let cloud: TestCloud;
  let example: ExampleAppHandle;
  let dir: string;
  const PKG = 'com.example.hello';
  const users = [
    'cli-pass@example.com',
    'cli-fail@example.com',
    'cli-datadir@example.com',
    'cli-webhook@example.com',
    'cli-tty@example.com',
  ];

  beforeAll(async () => {
    cloud = await startCloud({ GLASSES_GRACE_MS: '500' });
    example = await startExampleApp(cloud, PKG, users, { audio: true });
    dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
  });
  afterAll(async () => {
    await example?.app.close();
    await cloud?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function script(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  const base = (user: string): string[] => [
    '--user',
    user,
    '--cloud',
    cloud.url,
    '--admin-key',
    cloud.config.adminApiKey,
  ];

  it('runs press / say / speak / play / head / mic / reconnect / stop_app steps and exits 0', async () => {
    // A 1 s 440 Hz tone at 44.1 kHz stereo: the CLI must resample it to 16 kHz mono.
    const rate = 44100;
    const tone = new Float32Array(rate);
    for (let i = 0; i < rate; i++) tone[i] = 0.4 * Math.sin((2 * Math.PI * 440 * i) / rate);
    const mono = floatToPcm16(tone);
    const stereo = Buffer.alloc(mono.length * 2);
    for (let i = 0; i < mono.length / 2; i++) {
      stereo.writeInt16LE(mono.readInt16LE(i * 2), i * 4);
      stereo.writeInt16LE(mono.readInt16LE(i * 2), i * 4 + 2);
    }
    await writeFile(join(dir, 'tone.wav'), pcmToWav(stereo, rate, 2));
    const speech = 'testing one two three';
    const speechBytes = (await synthesizeSpeech(speech)).length;

    const path = await script(
      'pass.yaml',
      [
        '- expect_display: "ready"',
        '- press: short',
        '- expect_display: "Button: short press"',
        '- say: "hello glasses"',
        '- expect_display: "^You said: hello glasses$"',
        '- expect_mic: on',
        '- head: up',
        '- expect_dashboard: "Example: 1 presses"',
        '- head: down',
        `- speak: "${speech}"`,
        '- play: tone.wav',
        '- location: {lat: 48.85, lng: 2.35}',
        '- reconnect',
        '- press: long',
        '- expect_display: "/button: LONG press/i"',
        '  timeout_ms: 8000',
        '- stop_app',
        '- expect_mic: off',
      ].join('\n'),
    );
    const user = users[0]!;
    const run = await runSimCli([...base(user), '--model', 'g1', '--app', PKG, '--script', path]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${PKG} started; subscribed to`);
    expect(run.stdout).toMatch(/✓ 3\. expect_display: "Button: short press"/);
    expect(run.stdout).toMatch(/✓ 17\. expect_mic: off/);
    expect(run.stdout).toContain('PASS: all 17 steps passed');

    // The SDK app saw the press, the transcript and every audio byte (speech + the resampled tone).
    expect(example.stats.presses).toBeGreaterThanOrEqual(2);
    expect(example.stats.transcripts).toContain('hello glasses');
    await eventually(() => example.stats.audio.bytes >= speechBytes + 32000, 5000, 'all audio at the app');
    expect(example.stats.audio.bytes).toBe(speechBytes + 32000);
    const all = Buffer.concat(example.stats.audio.pcm);
    const toneAtApp = all.subarray(speechBytes, speechBytes + 32000);
    expect(Math.abs(estimateToneHz(toneAtApp) - 440)).toBeLessThan(15);
    // stop_app stopped it, and the location reached the session.
    expect(example.app.stops.some((s) => s.userId === user)).toBe(true);
  });

  it('exits 1 naming the failing step and what was on the display instead', async () => {
    const path = await script(
      'fail.yaml',
      ['- press: short', '- expect_display: "Button: long"', '  timeout_ms: 1500', '- say: never reached'].join('\n'),
    );
    const run = await runSimCli([...base(users[1]!), '--app', PKG, '--script', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✓ 1\. press: short/);
    expect(run.stdout).toMatch(/✗ 2\. expect_display: "Button: long" {3}\[line 2\]/);
    expect(run.stdout).not.toMatch(/3\. say/);
    expect(run.stderr).toMatch(
      /^FAIL: step 2 \(expect_display: "Button: long", line 2\) failed after 1 passed: no main view display matched \/Button: long\/ within 1500 ms — seen instead: the main view shows "Button: short press #\d+"/,
    );
  });

  it("runs tool: steps against the app's onToolCall, checks the reply, and exits 1 on a reply that does not match", async () => {
    const user = 'cli-tool@example.com';
    const { app } = await serveSdkApp(
      cloud,
      {
        packageName: 'com.example.toolcli',
        appType: 'standard',
        tools: [
          {
            id: 'greet',
            description: 'Greets someone',
            parameters: { name: { type: 'string', description: 'Who', required: true } },
          },
        ],
      },
      [user],
      () => undefined,
      {
        onToolCall: async (call) => {
          const name = String(call.toolParameters.name);
          call.activeSession?.layouts.showTextWall(`tool: ${name}`);
          return `Hello ${name}`;
        },
      },
    );
    try {
      const path = await script(
        'tool.yaml',
        [
          '- tool: {id: greet, params: {name: Ada}, expect_reply: "^Hello Ada$"}',
          '- expect_display: "tool: Ada"',
          '- tool: {id: greet, params: {name: Bob}, expect_reply: "Goodbye"}',
        ].join('\n'),
      );
      const run = await runSimCli([...base(user), '--app', 'com.example.toolcli', '--script', path]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toMatch(/↳ greet replied "Hello Ada"/);
      expect(run.stdout).toMatch(/✓ 1\. tool: /);
      expect(run.stdout).toMatch(/✓ 2\. expect_display: "tool: Ada"/);
      expect(run.stdout).toMatch(/✗ 3\. tool: /);
      expect(run.stdout).toMatch(/the reply of greet did not match \/Goodbye\/\n\s+seen instead: "Hello Bob"/);
    } finally {
      await app.close();
    }
  });

  it('takes the admin key from <DATA_DIR>/secrets.json when no key is given', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sim-data-'));
    await writeFile(
      join(dataDir, 'secrets.json'),
      JSON.stringify({ jwtSecret: 'x'.repeat(40), adminApiKey: cloud.config.adminApiKey }),
    );
    const path = await script('short.yaml', '- press: short\n- expect_display: "Button: short"\n');
    const run = await runSimCli(['--user', users[2]!, '--cloud', cloud.url, '--app', PKG, '--script', path], {
      DATA_DIR: dataDir,
    });
    await rm(dataDir, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('interactive mode draws the display in the terminal and takes keys (b, s, u, q)', async () => {
    const run = await runSimCli([...base(users[4]!), '--app', PKG], {}, 90_000, async (cli) => {
      await cli.waitForOutput(/Example app ready/);
      cli.type('b');
      await cli.waitForOutput(/┃Button: short press #\d+ +┃/);
      cli.type('s');
      await cli.waitForOutput(/say> /);
      cli.type('typed in the terminal\n');
      await cli.waitForOutput(/You said: typed in the terminal/);
      cli.type('u');
      await cli.waitForOutput(/Dashboard \(head up\) ◀ showing/);
      cli.type('q');
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Main view (com.example.hello)');
    expect(run.stdout).toMatch(/web simulator: http:\/\/127\.0\.0\.1:\d+\/simulator#link=/);
    expect(run.stdout).toContain(
      'keys: b short press · B long press · u head up · d head down · s say · t speak · r reconnect · q quit',
    );
    expect(example.stats.transcripts).toContain('typed in the terminal');
  });

  describe('bad input: a clear message and a non-zero exit before anything connects', () => {
    it('an unknown step (with a suggestion), all problems listed with lines', async () => {
      const path = await script('unknown.yaml', '- press: short\n- prss: long\n- wait: soon\n');
      const run = await runSimCli([...base('x@example.com'), '--script', path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('error in script unknown.yaml: 2 problems:');
      expect(run.stderr).toContain(
        'line 2: step 2: unknown step "prss" (did you mean "press"?); known steps: press, say, speak, play',
      );
      expect(run.stderr).toContain('line 3: step 3: wait takes milliseconds');
    });

    it('an unreadable audio file', async () => {
      const path = await script('missing-audio.yaml', '- play: no-such-file.wav\n');
      const run = await runSimCli([...base('x@example.com'), '--script', path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /error: line 1: step 1 \(play: no-such-file\.wav\): cannot read audio file .*no-such-file\.wav: no such file/,
      );
      const notWav = await script('not-audio.wav', 'plain text');
      const path2 = await script('bad-audio.yaml', `- play: ${notWav}\n`);
      const run2 = await runSimCli([...base('x@example.com'), '--script', path2]);
      expect(run2.code).toBe(2);
      expect(run2.stderr).toMatch(/not-audio\.wav: not a WAV file/);
    });

    it('an unknown model, with the valid ones', async () => {
      const run = await runSimCli([...base('x@example.com'), '--model', 'g7']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'error: Unknown glasses model "g7". Valid models (aliases): "Even Realities G1" (g1), "Even Realities G2" (g2), "Mentra Live" (live)',
      );
    });

    it('a missing script file and a missing --user', async () => {
      const run = await runSimCli([...base('x@example.com'), '--script', join(dir, 'nope.yaml')]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/cannot read script .*nope\.yaml: no such file/);
      const run2 = await runSimCli(['--admin-key', 'k']);
      expect(run2.code).toBe(2);
      expect(run2.stderr).toContain('--user EMAIL is required');
    });
  });

  describe('cloud problems: a clear message and exit 3', () => {
    it('the cloud is not reachable', async () => {
      const port = await freePort();
      const run = await runSimCli([
        '--user',
        'x@example.com',
        '--cloud',
        `http://127.0.0.1:${port}`,
        '--admin-key',
        'k',
        '--app',
        PKG,
      ]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(
        `error: Cannot reach the cloud at http://127.0.0.1:${port} (ECONNREFUSED). Is it running (npm start)?`,
      );
    });

    it('a bad admin key', async () => {
      const run = await runSimCli(
        ['--user', 'x@example.com', '--cloud', cloud.url, '--admin-key', 'not-the-key', '--app', PKG],
        {},
      );
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('refused the admin API key (401) taken from --admin-key');
      const viaEnv = await runSimCli(['--user', 'x@example.com', '--cloud', cloud.url, '--app', PKG], {
        ADMIN_API_KEY: 'wrong-from-env',
      });
      expect(viaEnv.code).toBe(3);
      expect(viaEnv.stderr).toContain('taken from ADMIN_API_KEY');
    });

    it('an unknown app, with the registered ones', async () => {
      const run = await runSimCli([...base('x@example.com'), '--app', 'com.example.nope']);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(
        `error: Unknown app com.example.nope: it is not registered in this cloud. Registered apps: ${PKG}`,
      );
    });

    it('an app whose webhook fails, with the failing stage', async () => {
      const dead = await freePort();
      await cloud.registerApp({ packageName: 'com.example.broken', publicUrl: `http://127.0.0.1:${dead}` });
      const run = await runSimCli([
        ...base(users[3]!),
        '--app',
        'com.example.broken',
        '--script',
        await script('noop.yaml', '- wait: 1\n'),
      ]);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/error: Starting com\.example\.broken failed at stage WEBHOOK: /);
      expect(run.stderr).toContain('hint: the cloud could not deliver the session webhook');
    });
  });

  it('npm run sim is wired to the CLI (no build step needed)', () => {
    const r = spawnSync('npm', ['run', '--silent', 'sim', '--', '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: npm run sim -- --user EMAIL [options]');
    expect(r.stdout).toContain('- expect_display: "regex"');
  });
});
