import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppSession } from '@mentra/sdk';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_REPOSITORY, type AppRepository } from '../src/persistence/persistence.types.js';
import { estimateToneHz, pcmToWav, sinePcm } from '../src/simulator/cli/audio.js';
import { SimulatedGlasses, UpgradeRefusedError } from '../src/simulator/index.js';
import { freePort, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, startSdkApp } from './support/sdk-app.js';
import { REPO_ROOT, startExampleApp, type ExampleAppHandle } from './support/sim-harness.js';

/**
 * /simulator and /console in a real browser: Debian's chromium driven by playwright-core with its
 * executable path (never a downloaded browser). A missing chromium fails this suite; it is not skipped.
 */
// page.evaluate / waitForFunction callbacks run in the browser; the project compiles without the DOM lib.
declare const document: { querySelector<T = any>(sel: string): T | null };
declare const window: unknown;
type HTMLInputElement = { readOnly: boolean };
declare const sessionStorage: { getItem(key: string): string | null };
type HTMLCanvasElement = { width: number; height: number; getContext(kind: '2d'): any };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = join(REPO_ROOT, 'test-output');
const PKG = 'com.example.hello';
const USERS = {
  page: 'web-page@example.com',
  mic: 'web-mic@example.com',
  link: 'web-link@example.com',
  console: 'web-console@example.com',
};

/** A 1-bit 576×135 BMP (the G1 bitmap size): white background, black rectangle at x0..x1, y0..y1. */
function bmp(x0: number, x1: number, y0: number, y1: number): string {
  const w = 576;
  const hgt = 135;
  const rowBytes = w / 8; // 72, already a multiple of 4
  const pixels = Buffer.alloc(rowBytes * hgt, 0xff);
  for (let y = y0; y < y1; y++) {
    const row = hgt - 1 - y; // bottom-up
    for (let x = x0; x < x1; x++) pixels[row * rowBytes + (x >> 3)]! &= ~(0x80 >> (x & 7));
  }
  const header = Buffer.alloc(14 + 40 + 8);
  header.write('BM', 0, 'ascii');
  header.writeUInt32LE(header.length + pixels.length, 2);
  header.writeUInt32LE(header.length, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(w, 18);
  header.writeInt32LE(hgt, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(1, 28);
  header.writeUInt32LE(pixels.length, 34);
  header.writeUInt32LE(2, 46);
  // palette: 0 = black, 1 = white
  header.writeUInt32LE(0x00000000, 54);
  header.writeUInt32LE(0x00ffffff, 58);
  return Buffer.concat([header, pixels]).toString('base64');
}

describe('web simulator and developer console in Chromium', () => {
  let cloud: TestCloud;
  let example: ExampleAppHandle;
  let browser: BrowserContext;
  let profile: string;
  let fakeMic: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH. This suite never downloads a browser.`,
      );
    }
    await mkdir(OUTPUT, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), 'sim-chromium-'));
    // The fake microphone: 440 Hz at 48 kHz, so the page must resample (÷3) to reach the app as 16 kHz.
    fakeMic = join(profile, '..', `${profile.split('/').pop()}-mic.wav`);
    await writeFile(fakeMic, pcmToWav(sinePcm({ hz: 440, ms: 3000, sampleRate: 48000, amplitude: 0.5 }), 48000));
    cloud = await startCloud({ GLASSES_GRACE_MS: '500' });
    example = await startExampleApp(cloud, PKG, [USERS.page, USERS.mic, USERS.link], {
      audio: true,
      onSession: (session: AppSession) => {
        session.events.onTranscription((t) => {
          if (!t.isFinal) return;
          if (t.text === 'show bitmap') void session.layouts.showBitmapView(bmp(100, 300, 20, 110));
          if (t.text === 'animate')
            session.layouts.showBitmapAnimation([bmp(0, 100, 0, 40), bmp(200, 576, 0, 135)], 300, true);
        });
      },
    });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-audio-capture=${fakeMic}`,
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await example?.app.close();
    await cloud?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    if (fakeMic) await rm(fakeMic, { force: true });
  });

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    (page as Page & { errors?: string[] }).errors = errors;
    await page.goto(`${cloud.url}${path}`);
    return page;
  }

  async function signIn(page: Page): Promise<void> {
    await page.fill('#admin-key', cloud.config.adminApiKey);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
  }

  async function connectAndStart(page: Page): Promise<void> {
    await page.click('#connect');
    await page.waitForFunction(() => document.querySelector('#conn-status')!.textContent!.startsWith('connected'));
    await page.click(`[data-testid="start-${PKG}"]`);
    await page.waitForFunction(
      (pkg) => document.querySelector(`tr[data-app="${pkg}"]`)?.textContent?.includes('running'),
      PKG,
      { timeout: 15_000 },
    );
  }

  /** Lit (green) pixels on the lens canvas. */
  const litPixels = (page: Page): Promise<number> =>
    page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('#lens')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 1]! > 128 && d[i]! < 128) n++;
      return n;
    });

  it('signs in, connects, a press reaches the SDK app and its text appears on the page (screenshot)', async () => {
    const page = await openPage(`/simulator?user=${USERS.page}`);
    expect(await page.isVisible('#signin')).toBe(true);
    // A wrong key is refused on the page.
    await page.fill('#admin-key', 'wrong-key');
    await page.click('#signin-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#signin-error')!.textContent!.includes('refused'));
    await signIn(page);
    expect(await page.evaluate(() => sessionStorage.getItem('mentra.adminKey'))).toBe(cloud.config.adminApiKey);
    expect(await page.inputValue('#user-id')).toBe(USERS.page);
    expect(await page.textContent('#lens-res')).toBe('640×200 · 5 lines · green');

    await connectAndStart(page);
    await page.waitForFunction(() => document.querySelector('#main-text')!.textContent!.includes('ready'), undefined, {
      timeout: 10_000,
    });
    const pressesBefore = example.stats.presses;
    await page.click('#btn-short');
    await page.waitForFunction(() =>
      /Button: short press #\d+/.test(document.querySelector('#main-text')!.textContent!),
    );
    expect(example.stats.presses).toBe(pressesBefore + 1);
    expect(await page.textContent('#main-owner')).toContain(PKG);
    expect(await litPixels(page)).toBeGreaterThan(200); // the text is drawn on the lens

    await page.fill('#speech-text', 'hello from the browser');
    await page.click('#speech-send');
    await page.waitForFunction(
      () => document.querySelector('#main-text')!.textContent === 'You said: hello from the browser',
    );
    expect(example.stats.transcripts).toContain('hello from the browser');

    // Head up shows the dashboard on the lens.
    await page.click('#head');
    expect(await page.textContent('#lens-view')).toBe('dashboard (head up)');
    await page.waitForFunction(() => /Example: \d+ presses/.test(document.querySelector('#dash-text')!.textContent!));
    await page.click('#head');
    expect(await page.textContent('#lens-view')).toBe('main view');

    // The log shows both directions.
    const log = (await page.textContent('#log')) ?? '';
    expect(log).toContain('button_press');
    expect(log).toContain('local_transcription');
    expect(log).toContain('display_event');
    expect(log).toContain('connection_ack');

    await page.screenshot({ path: join(OUTPUT, 'simulator.png'), fullPage: true });
    expect(existsSync(join(OUTPUT, 'simulator.png'))).toBe(true);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);

    // bitmap_view and bitmap_animation are drawn as lit pixels.
    await page.fill('#speech-text', 'show bitmap');
    await page.click('#speech-send');
    await page.waitForFunction(() => document.querySelector('#main-text')!.textContent === '[bitmap]', undefined, {
      timeout: 10_000,
    });
    await eventually(async () => (await litPixels(page)) > 5000, 5000, 'bitmap pixels');
    const rect = await litPixels(page);
    expect(rect).toBeLessThan(200 * 90 * 1.2); // the rectangle (200×90 px after padding), not the background
    await page.screenshot({ path: join(OUTPUT, 'simulator-bitmap.png') });
    await page.fill('#speech-text', 'animate');
    await page.click('#speech-send');
    await page.waitForFunction(
      () => document.querySelector('#main-text')!.textContent === '[bitmap animation: 2 frames]',
      undefined,
      { timeout: 10_000 },
    );
    const seen = new Set<number>();
    await eventually(
      async () => {
        seen.add(Math.round((await litPixels(page)) / 1000));
        return seen.size >= 2;
      },
      5000,
      'two different animation frames',
    );
    await page.close();
  }, 90_000);

  it("streams the browser microphone (Chromium's fake device, 48 kHz) to the SDK app's onAudioChunk as 16 kHz PCM", async () => {
    const page = await openPage(`/simulator?user=${USERS.mic}`);
    await signIn(page);
    await connectAndStart(page);
    await page.waitForFunction(
      () => document.querySelector('#mic-state')!.textContent!.startsWith('cloud mic: on'),
      undefined,
      { timeout: 10_000 },
    );
    const a = example.stats.audio;
    Object.assign(a, { chunks: 0, bytes: 0, firstAt: 0, lastAt: 0, pcm: [], pcmBytes: 0 });
    await page.click('#mic');
    await eventually(() => a.chunks >= 30, 20_000, '3 s of audio at the app');
    const first = a.pcm[0]!.length;
    const seconds = (a.lastAt - a.firstAt) / 1000;
    const rate = (a.bytes - first) / seconds;
    // 16,000 samples/s × 2 bytes: 32,000 B/s. A 48 kHz stream sent unconverted would be 96,000.
    expect(rate).toBeGreaterThan(32_000 * 0.8);
    expect(rate).toBeLessThan(32_000 * 1.2);
    expect(a.bytes % 2).toBe(0);
    // The fake device's 440 Hz tone is still 440 Hz when read as 16 kHz samples (skip the first 0.5 s).
    const pcm = Buffer.concat(a.pcm).subarray(16_000);
    expect(Math.abs(estimateToneHz(pcm) - 440)).toBeLessThan(440 * 0.05);
    const stats = await page.evaluate(
      () =>
        (window as unknown as { simulator: { stats: { micInputRate: number; audioBytesSent: number } } }).simulator
          .stats,
    );
    expect(stats.micInputRate).toBeGreaterThanOrEqual(16_000);
    expect(stats.audioBytesSent).toBeGreaterThanOrEqual(a.bytes);
    expect(await page.getAttribute('#mic', 'aria-pressed')).toBe('true');
    await page.click('#mic');
    expect(await page.getAttribute('#mic', 'aria-pressed')).toBe('false');
    await page.close();
  }, 90_000);

  it('opens from a short-lived link (no admin key in the page) for one user and model', async () => {
    const created = await cloud.admin('POST', '/api/simulator/links', {
      userId: USERS.link,
      model: 'g2',
      ttlSeconds: 600,
    });
    expect(created.status).toBe(201);
    expect(created.body.url).toBe(`${cloud.config.publicUrl}/simulator#link=${created.body.token}`);
    const page = await openPage(created.body.path);
    await page.waitForFunction(
      () => document.querySelector('#conn-status')!.textContent!.startsWith('connected'),
      undefined,
      { timeout: 10_000 },
    );
    expect(page.url()).toBe(`${cloud.url}/simulator`); // the token left the address bar
    expect(await page.evaluate(() => sessionStorage.getItem('mentra.adminKey'))).toBeNull();
    expect(await page.inputValue('#user-id')).toBe(USERS.link);
    expect(await page.$eval('#user-id', (el) => (el as HTMLInputElement).readOnly)).toBe(true);
    expect(await page.inputValue('#model')).toBe('Even Realities G2');
    expect(await page.$$eval('#gestures button', (b) => b.map((x) => x.textContent))).toContain('double tap');
    const summary = await eventually(
      async () => {
        const r = await cloud.admin('GET', `/api/admin/sessions/${USERS.link}`);
        return r.body?.modelName === 'Even Realities G2' ? r.body : null;
      },
      5000,
      'G2 session',
    );
    expect(summary.glassesConnected).toBe(true);
    // The link user's installed app can be started from the page.
    await page.click(`[data-testid="start-${PKG}"]`);
    await page.waitForFunction(
      (pkg) => document.querySelector(`tr[data-app="${pkg}"]`)?.textContent?.includes('running'),
      PKG,
      { timeout: 15_000 },
    );
    await page.close();

    // A forged link lands on the sign-in form with an explanation.
    const bad = await openPage('/simulator#link=not.a.link');
    await bad.waitForSelector('#signin:not([hidden])');
    expect(await bad.textContent('#signin-error')).toContain('invalid or has expired');
    await bad.close();
  }, 90_000);

  it('the developer console registers an app, shows its key once, rotates it, installs it and shows the failing stage of a start', async () => {
    const page = await openPage('/console');
    await signIn(page);
    const dead = await freePort();
    await page.fill('#f-package', 'com.example.console');
    await page.fill('#f-name', 'Console App');
    await page.fill('#f-url', `http://127.0.0.1:${dead}`);
    await page.selectOption('#f-type', 'standard');
    await page.fill('#f-webview', 'http://127.0.0.1:7999/settings');
    await page.check('input[name=permission][value=MICROPHONE]');
    await page.click('#f-add-hw');
    await page.selectOption('#f-hardware .hw-type', 'DISPLAY');
    await page.fill('#f-settings', '[{"type":"toggle","key":"loud","label":"Loud","defaultValue":false}]');
    await page.click('#f-submit');
    await page.waitForSelector('#key-box:not([hidden])');
    const key = (await page.textContent('[data-testid="api-key"]'))!.trim();
    expect(key.length).toBeGreaterThan(20);
    const repo = cloud.app.get<AppRepository>(APP_REPOSITORY);
    const sha = (k: string): string => createHash('sha256').update(k).digest('hex');
    expect((await repo.findByPackageName('com.example.console'))!.hashedApiKey).toBe(sha(key));
    const stored = await cloud.admin('GET', '/api/admin/apps/com.example.console');
    expect(stored.body).toMatchObject({
      name: 'Console App',
      appType: 'standard',
      webviewURL: 'http://127.0.0.1:7999/settings',
      permissions: [{ type: 'MICROPHONE' }],
      hardwareRequirements: [{ type: 'DISPLAY', level: 'REQUIRED' }],
      settings: [{ type: 'toggle', key: 'loud', label: 'Loud', defaultValue: false }],
    });
    // Bad settings JSON is caught on the page.
    await page.fill('#f-package', 'com.example.other');
    await page.fill('#f-url', 'http://127.0.0.1:1');
    await page.fill('#f-settings', '[{oops');
    await page.click('#f-submit');
    expect(await page.textContent('#register-error')).toContain('Settings schema is not valid JSON');

    // Rotate: two clicks (arm, confirm), a new key that the store now holds.
    const row = page.locator('tr[data-app="com.example.console"]');
    await row.locator('button', { hasText: 'Rotate key' }).click();
    await row.locator('button', { hasText: 'Confirm' }).click();
    await page.waitForFunction((old) => document.querySelector('[data-testid="api-key"]')!.textContent !== old, key);
    const rotated = (await page.textContent('[data-testid="api-key"]'))!.trim();
    expect((await repo.findByPackageName('com.example.console'))!.hashedApiKey).toBe(sha(rotated));

    // Install for a user, then a start whose webhook fails shows its stage in the console.
    await row.locator('input').fill(USERS.console);
    await row.locator('button', { hasText: 'Install' }).click();
    await page.waitForFunction(() =>
      document.querySelector('tr[data-app="com.example.console"]')!.textContent!.includes('Installed for'),
    );
    const user = await cloud.admin('GET', `/api/admin/users/${USERS.console}`);
    expect(user.body.installedApps.map((a: { packageName: string }) => a.packageName)).toContain('com.example.console');
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(USERS.console) });
    await glasses.connect();
    try {
      await row.locator('input').fill(USERS.console);
      await row.locator('button', { hasText: /^Start$/ }).click();
      await page.waitForFunction(
        () =>
          document
            .querySelector('tr[data-app="com.example.console"]')!
            .textContent!.includes('Start failed at stage WEBHOOK'),
        undefined,
        { timeout: 20_000 },
      );
      // The status line is set before the table's refresh lands: wait for the outcome cell itself.
      await page.waitForFunction(
        () =>
          document
            .querySelector('tr[data-app="com.example.console"]')!
            .querySelectorAll('td')[3]!
            .textContent!.includes('WEBHOOK'),
        undefined,
        { timeout: 20_000 },
      );
      const cell = (await row.locator('td').nth(3).textContent()) ?? '';
      expect(cell).toContain('WEBHOOK');
      expect(cell).toContain(USERS.console);
      // A successful start: who runs it, and the outcome from the session summary's apps[].lastStart.
      const pkgRow = page.locator(`tr[data-app="${PKG}"]`);
      await pkgRow.locator('input').fill(USERS.console);
      await pkgRow.locator('button', { hasText: 'Install' }).click();
      await page.waitForFunction(
        (pkg) => document.querySelector(`tr[data-app="${pkg}"]`)!.textContent!.includes('Installed for'),
        PKG,
      );
      await pkgRow.locator('button', { hasText: /^Start$/ }).click();
      await page.waitForFunction(
        (pkg) => /Started for|failed/.test(document.querySelector(`tr[data-app="${pkg}"]`)!.textContent!),
        PKG,
        { timeout: 20_000 },
      );
      expect(await pkgRow.locator('td').nth(4).textContent()).toContain(`Started for ${USERS.console}.`);
      expect(await pkgRow.locator('td').nth(2).textContent()).toBe(USERS.console);
      expect(await pkgRow.locator('td').nth(3).textContent()).toMatch(/^ok web-console@example\.com/);
      expect(await page.textContent('[data-testid="sessions"]')).toContain(USERS.console);
      await page.screenshot({ path: join(OUTPUT, 'console.png'), fullPage: true });
    } finally {
      await glasses.disconnect();
    }
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("the developer console registers an app from its uploaded app_config.json and calls the app's tool", async () => {
    const calls: Array<{ toolId: string; userId: string }> = [];
    const toolApp = await startSdkApp('com.example.consoletools', 'not-needed-for-tools', () => undefined, {
      onToolCall: async (call) => {
        calls.push({ toolId: call.toolId, userId: call.userId });
        return `my_tool_name ran for ${call.userId}`;
      },
    });
    try {
      const page = await openPage('/console');
      await signIn(page);
      // A pasted config that is not JSON is refused in the page.
      await page.fill('#c-package', 'com.example.consoletools');
      await page.fill('#c-url', toolApp.url);
      await page.fill('#c-json', '{not json');
      await page.click('#c-submit');
      await page.waitForFunction(() => /not valid JSON/.test(document.querySelector('#config-error')!.textContent!));
      // The uploaded file fills the box; registering sends it unchanged with the package name and URL.
      await page.setInputFiles(
        '#c-file',
        fileURLToPath(new URL('./fixtures/extended-example-app_config.json', import.meta.url)),
      );
      await page.waitForFunction(() => document.querySelector('#c-json')!.value.includes('my_tool_name'));
      await page.click('#c-submit');
      await page.waitForFunction(() =>
        /consoletools\) is registered with 1 tool/.test(document.querySelector('#key-title')!.textContent!),
      );
      const stored = await cloud.admin('GET', '/api/admin/apps/com.example.consoletools');
      expect(stored.body).toMatchObject({
        publicUrl: toolApp.url,
        description: 'A extended example app that shows how to use AugmentOS.',
        tools: [{ id: 'my_tool_name', activationPhrases: ['my tool name', 'use my tool'] }],
      });
      expect((await cloud.admin('PUT', `/api/admin/users/${USERS.console}/apps/com.example.consoletools`)).status).toBe(
        200,
      );

      await page.fill('#t-user', USERS.console);
      await page.waitForFunction(() =>
        [...document.querySelector('#t-app')!.options].some(
          (o: { value: string }) => o.value === 'com.example.consoletools',
        ),
      );
      await page.selectOption('#t-app', 'com.example.consoletools');
      await page.selectOption('#t-tool', 'my_tool_name');
      await page.click('#t-submit');
      await page.waitForSelector('[data-testid="tool-result"]:not([hidden])');
      expect(await page.textContent('[data-testid="tool-result"]')).toBe(
        `my_tool_name → my_tool_name ran for ${USERS.console}`,
      );
      expect(calls).toEqual([{ toolId: 'my_tool_name', userId: USERS.console }]);
      await page.screenshot({ path: join(OUTPUT, 'console-tools.png'), fullPage: true });
      expect((page as Page & { errors?: string[] }).errors).toEqual([]);
      await page.close();
    } finally {
      await toolApp.close();
    }
  }, 90_000);
});

describe('simulator links API', () => {
  let cloud: TestCloud;
  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud?.close();
  });

  it('needs the admin key to create, validates the model, and scopes everything to the link user', async () => {
    expect((await cloud.admin('POST', '/api/simulator/links', { userId: 'a@example.com' }, 'nope')).status).toBe(401);
    const badModel = await cloud.admin('POST', '/api/simulator/links', { userId: 'a@example.com', model: 'g7' });
    expect(badModel.status).toBe(400);
    expect(badModel.body.message).toContain('Unknown glasses model "g7"');
    expect((await cloud.admin('POST', '/api/simulator/links', { userId: 'a b' })).status).toBe(400);

    const link = (await cloud.admin('POST', '/api/simulator/links', { userId: 'Link-User@Example.com' })).body;
    expect(link).toMatchObject({ userId: 'link-user@example.com', model: 'Even Realities G1' });
    const asLink = (method: string, path: string) => cloud.admin(method, path, undefined, link.token);
    expect((await asLink('GET', '/api/simulator/link')).body).toMatchObject({
      userId: 'link-user@example.com',
      model: 'Even Realities G1',
    });
    // The admin key is not a link, and a link is not an admin key.
    expect((await cloud.admin('GET', '/api/simulator/link')).status).toBe(401);
    expect((await asLink('GET', '/api/admin/apps')).status).toBe(401);
    expect((await asLink('POST', '/api/simulator/link/apps/com.example.x/start')).status).toBe(404); // no live session

    // The core token it hands out works on /glasses-ws; the link itself does not.
    const { coreToken } = (await asLink('POST', '/api/simulator/link/token')).body;
    const g = new SimulatedGlasses({ cloudUrl: cloud.url, token: coreToken, tokenIn: 'query' });
    expect((await g.connect()).sessionId).toBe('link-user@example.com');
    await g.disconnect();
    const wrong = new SimulatedGlasses({ cloudUrl: cloud.url, token: link.token, tokenIn: 'query' });
    const refused = await wrong.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeTruthy();
    expect(refused instanceof UpgradeRefusedError || /connection_error|closed/.test(String(refused))).toBe(true);
    await wrong.disconnect().catch(() => undefined);
  });

  it('serves the pages with a strict CSP and only known assets', async () => {
    const page = await fetch(`${cloud.url}/simulator`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('<canvas id="lens"');
    expect((await fetch(`${cloud.url}/console`)).status).toBe(200);
    const js = await fetch(`${cloud.url}/ui/mic-worklet.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${cloud.url}/ui/..%2Fsimulator.html`)).status).toBe(404);
    expect((await fetch(`${cloud.url}/ui/nope.js`)).status).toBe(404);
    const meta = (await (await fetch(`${cloud.url}/api/simulator/meta`)).json()) as {
      models: Array<{ name: string; display: unknown }>;
    };
    expect(meta.models.find((m) => m.name === 'Even Realities G1')!.display).toEqual({
      width: 640,
      height: 200,
      maxTextLines: 5,
      color: 'green',
      canDisplayBitmap: true,
    });
  });
});
