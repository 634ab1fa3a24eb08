import { describe, expect, it } from 'vitest';
import { normalizeCloudUrl, parseCliArgs, resolveAdminKey, UsageError } from './args.js';
import { layoutLines, renderScreen, wrapText } from './render.js';
import { resolveModel } from '../device-models.js';
import { initialGlassesState } from '../glasses-state.js';

const noSecrets = (): string => {
  throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
};

describe('parseCliArgs', () => {
  it('reads every option with defaults', () => {
    const o = parseCliArgs(
      [
        '--user',
        'Dev@Example.com',
        '--app',
        'com.example.notes',
        '--app',
        'com.example.b',
        '--script',
        'steps.yaml',
        '--admin-key',
        'k',
      ],
      { PORT: '9000' },
      noSecrets,
    );
    expect(o).toMatchObject({
      userId: 'Dev@Example.com',
      apps: ['com.example.notes', 'com.example.b'],
      cloudUrl: 'http://127.0.0.1:9000',
      adminKey: 'k',
      adminKeySource: '--admin-key',
      timeoutMs: 30000,
      keep: false,
    });
    expect((o as { model: { name: string } }).model.name).toBe('Even Realities G1');
    expect((o as { scriptPath: string }).scriptPath).toMatch(/\/steps\.yaml$/);
    expect(
      parseCliArgs(
        ['--user', 'a@b.c', '--model', 'Mentra Live', '--cloud', 'localhost:8002/', '--admin-key', 'k'],
        {},
        noSecrets,
      ),
    ).toMatchObject({ model: { name: 'Mentra Live' }, cloudUrl: 'http://localhost:8002' });
    expect(parseCliArgs(['-h'], {}, noSecrets)).toEqual({ help: true });
  });

  it('refuses bad input with UsageError', () => {
    const bad = (argv: string[], re: RegExp): void => {
      expect(() => parseCliArgs(argv, { ADMIN_API_KEY: 'k' }, noSecrets)).toThrow(UsageError);
      expect(() => parseCliArgs(argv, { ADMIN_API_KEY: 'k' }, noSecrets)).toThrow(re);
    };
    bad([], /--user EMAIL is required/);
    bad(['--user', 'a b'], /not a valid user id/);
    bad(
      ['--user', 'a@b.c', '--model', 'g7'],
      /Unknown glasses model "g7". Valid models \(aliases\): "Even Realities G1" \(g1\)/,
    );
    bad(['--user', 'a@b.c', '--app', 'bad/app'], /not a valid package name/);
    bad(['--user', 'a@b.c', '--cloud', 'ftp://x'], /must be an http\(s\) URL/);
    bad(['--user', 'a@b.c', '--timeout', '5'], /--timeout must be a whole number/);
    bad(['--user', 'a@b.c', '--frobnicate'], /Unknown option '--frobnicate'/);
    bad(['--user', 'a@b.c', 'extra'], /Unexpected argument 'extra'/);
  });

  it('normalizes cloud URLs', () => {
    expect(normalizeCloudUrl('ws://h:1/base/')).toBe('http://h:1/base');
    expect(normalizeCloudUrl('https://cloud.example.com')).toBe('https://cloud.example.com');
    expect(() => normalizeCloudUrl('http://h/?a=1')).toThrow(/query or fragment/);
  });
});

describe('resolveAdminKey', () => {
  it('prefers --admin-key, then ADMIN_API_KEY, then <DATA_DIR>/secrets.json', () => {
    const read = (p: string): string => {
      expect(p).toBe('/srv/cloud-data/secrets.json');
      return JSON.stringify({ jwtSecret: 'j', adminApiKey: 'from-file' });
    };
    expect(resolveAdminKey({ flag: 'flag', env: { ADMIN_API_KEY: 'env' }, readSecrets: read })).toEqual({
      key: 'flag',
      source: '--admin-key',
    });
    expect(resolveAdminKey({ env: { ADMIN_API_KEY: 'env' }, readSecrets: read })).toEqual({
      key: 'env',
      source: 'ADMIN_API_KEY',
    });
    expect(resolveAdminKey({ env: { DATA_DIR: '/srv/cloud-data' }, readSecrets: read })).toEqual({
      key: 'from-file',
      source: '/srv/cloud-data/secrets.json',
    });
  });

  it('explains where it looked when there is no key', () => {
    expect(() => resolveAdminKey({ env: {}, readSecrets: noSecrets })).toThrow(
      /No admin API key: pass --admin-key KEY, set ADMIN_API_KEY, or run where the cloud keeps its data \(.*data\/secrets\.json: not found\)/,
    );
    expect(() => resolveAdminKey({ env: {}, readSecrets: () => 'nope' })).toThrow(/is not JSON/);
    expect(() => resolveAdminKey({ env: {}, readSecrets: () => '{}' })).toThrow(/has no adminApiKey/);
    expect(() => resolveAdminKey({ flag: ' ', env: {} })).toThrow(/--admin-key is empty/);
  });
});

describe('terminal rendering', () => {
  it('wraps words to the width and breaks long words', () => {
    expect(wrapText('the quick brown fox jumps over the lazy dog', 10)).toEqual([
      'the quick',
      'brown fox',
      'jumps over',
      'the lazy',
      'dog',
    ]);
    expect(wrapText('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
    expect(wrapText('a\n\nb', 5)).toEqual(['a', '', 'b']);
  });

  it('lays out each layout type in a 5 × 40 G1 grid', () => {
    const size = { cols: 40, rows: 5 };
    const text = layoutLines({ layoutType: 'text_wall', text: 'Hello' }, size);
    expect(text).toHaveLength(5);
    expect(text.every((l) => l.length === 40)).toBe(true);
    expect(text[0]!.trimEnd()).toBe('Hello');
    const two = layoutLines({ layoutType: 'double_text_wall', topText: 'left side', bottomText: 'right side' }, size);
    expect(two[0]).toMatch(/^left side\s+right side\s*$/);
    expect(two[0]!.indexOf('right')).toBe(21);
    const card = layoutLines({ layoutType: 'reference_card', title: 'Title', text: 'Body' }, size);
    expect(card.slice(0, 3).map((l) => l.trimEnd())).toEqual(['TITLE', '─────', 'Body']);
    const long = layoutLines({ layoutType: 'text_wall', text: 'word '.repeat(60) }, size);
    expect(long[4]!.endsWith('…')).toBe(true);
    expect(
      layoutLines({ layoutType: 'bitmap_animation', frames: ['a', 'b'], interval: 100, repeat: true }, size).join('\n'),
    ).toMatch(/\[bitmap animation: 2 frames\]/);
    expect(layoutLines(null, size).every((l) => l === ' '.repeat(40))).toBe(true);
  });

  it('draws main view, dashboard and status', () => {
    const state = initialGlassesState();
    state.connected = true;
    state.display.main = {
      type: 'display_event',
      view: 'main',
      packageName: 'com.x',
      layout: { layoutType: 'text_wall', text: 'Hi there' },
    };
    const lines = renderScreen({
      model: resolveModel('g1'),
      state,
      headUp: false,
      userId: 'dev@example.com',
      apps: ['com.x'],
    });
    expect(lines.join('\n')).toMatch(/Main view \(com\.x\) ◀ showing/);
    expect(lines.join('\n')).toMatch(/┃Hi there {32}┃/);
    expect(lines.join('\n')).toMatch(/socket open · mic off · head down/);
  });
});
