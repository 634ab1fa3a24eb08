import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import { AudioManager } from '../audio/audio-manager.js';
import type { AppConfig } from '../config/config.types.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import type { AppRecord } from '../persistence/persistence.types.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import {
  ProviderError,
  type ProviderStream,
  type StreamHandlers,
  type StreamSpec,
  type TranscriptionProvider,
} from './providers/provider.types.js';
import { ProviderRegistry } from './providers/provider-registry.js';
import { TranscriptionManager } from './transcription-manager.js';

/** An in-memory provider: lets the test open, answer, fail and inspect streams. */
class FakeProvider implements TranscriptionProvider {
  streams: FakeStream[] = [];
  constructor(
    readonly name: string,
    private readonly languages: string[] | null = null,
  ) {}
  supports(spec: StreamSpec): boolean {
    return this.languages === null || this.languages.includes(spec.language);
  }
  open(spec: StreamSpec, handlers: StreamHandlers): ProviderStream {
    const s = new FakeStream(spec, handlers);
    this.streams.push(s);
    queueMicrotask(() => handlers.onOpen());
    return s;
  }
  get live(): FakeStream[] {
    return this.streams.filter((s) => !s.closed);
  }
}

class FakeStream implements ProviderStream {
  bytes = 0;
  finalized = 0;
  keepalives = 0;
  closed = false;
  constructor(
    readonly spec: StreamSpec,
    readonly handlers: StreamHandlers,
  ) {}
  write(pcm: Buffer): void {
    this.bytes += pcm.length;
  }
  finalize(): void {
    this.finalized++;
  }
  keepalive(): void {
    this.keepalives++;
  }
  close(): void {
    this.closed = true;
  }
  say(text: string, isFinal: boolean): void {
    this.handlers.onResult({ text, isFinal, startMs: 0, endMs: 500 });
  }
  fail(retryable = true): void {
    this.closed = true;
    this.handlers.onError(new ProviderError('fake', 'boom', retryable));
    this.handlers.onClosed();
  }
}

const media: AppConfig['media'] = {
  transcriptionProviders: [],
  voskUrls: new Map(),
  idleCloseMs: 5_000,
  stallMs: 3_000,
  failureThreshold: 3,
  cooldownMs: 60_000,
  restartBaseMs: 1_000,
  restartMaxMs: 8_000,
};
const config = {
  media,
  emptySubscriptionGraceMs: 0,
  recentAudioSeconds: 0,
  systemDashboardPackage: 'system.augmentos.dashboard',
  maxLanguageStreamsPerSession: 4,
} as AppConfig;

function app(packageName: string): AppRecord {
  return {
    packageName,
    name: packageName,
    publicUrl: 'http://x',
    appType: 'background',
    permissions: [{ type: 'MICROPHONE' }],
    hardwareRequirements: [],
    settings: [],
    hashedApiKey: 'h',
    createdAt: new Date(),
    updatedAt: new Date(),
  };
}

function harness(registry = new ProviderRegistry(config)) {
  const ctx = new SessionContext({ userId: 'u@example.com' });
  const glassesSent: any[] = [];
  ctx.attachGlasses({ readyState: 1, send: (s: string) => glassesSent.push(JSON.parse(s)) } as never, false);
  const connections = new AppConnections(ctx);
  const subs = new SubscriptionManager(ctx, config);
  const relay = new EventRelay(ctx, subs, connections);
  const mic = new MicrophoneManager(ctx, subs);
  const audio = new AudioManager(ctx, subs, connections, mic, config);
  const manager = new TranscriptionManager(ctx, subs, relay, audio, mic, registry, config);
  const appSent = new Map<string, any[]>();
  const addApp = (pkg: string, subscriptions: string[]) => {
    const rt = connections.create(app(pkg));
    rt.state = 'running';
    const sent: any[] = [];
    appSent.set(pkg, sent);
    rt.ws = { readyState: 1, send: (s: string) => sent.push(JSON.parse(s)) } as never;
    subs.registerApp(pkg, app(pkg).permissions);
    subs.update(pkg, subscriptions);
  };
  const transcripts = (pkg: string) => (appSent.get(pkg) ?? []).filter((m) => m.type === 'data_stream');
  return { ctx, subs, audio, manager, registry, addApp, transcripts, glassesSent };
}

describe('TranscriptionManager', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('opens one stream per base language shared by every subscriber, and echoes each its own subscription string', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US']);
    h.addApp('b', ['transcription:en-US?hints=ja']);
    h.addApp('c', ['transcription:de-DE?no-language-identification=true']);
    h.manager.handleVad({ type: 'VAD', status: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.live.map((s) => s.spec.language).sort()).toEqual(['de-DE', 'en-US']);
    const en = fake.live.find((s) => s.spec.language === 'en-US')!;
    expect(en.spec.hints).toEqual(['ja']);
    expect(en.spec.identifyLanguage).toBe(true);
    expect(fake.live.find((s) => s.spec.language === 'de-DE')!.spec.identifyLanguage).toBe(false);
    en.say('hello', false);
    en.say('hello world', true);
    expect(h.transcripts('a').map((m) => [m.streamType, m.data.text, m.data.isFinal])).toEqual([
      ['transcription:en-US', 'hello', false],
      ['transcription:en-US', 'hello world', true],
    ]);
    expect(h.transcripts('b').map((m) => m.streamType)).toEqual([
      'transcription:en-US?hints=ja',
      'transcription:en-US?hints=ja',
    ]);
    expect(h.transcripts('c')).toEqual([]);
    const final = h.transcripts('a')[1].data;
    expect(final).toMatchObject({
      type: 'transcription',
      transcribeLanguage: 'en-US',
      provider: 'fake',
      utteranceId: 'en-US-1',
    });
    expect(final.endTime - final.startTime).toBe(500);
    en.say('next', false);
    expect(h.transcripts('a')[2].data.utteranceId).toBe('en-US-2');
  });

  it('is a pure function of subscriptions and VAD: five reconnects and repeated changes never leave more than one stream per language', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US']);
    h.manager.handleVad({ type: 'VAD', status: true });
    for (let i = 0; i < 5; i++) {
      h.ctx.emit('glassesDisconnected', { code: 1006 });
      h.ctx.emit('glassesConnected', { reconnect: true });
      h.subs.update('a', ['transcription:en-US']);
      h.manager.handleVad({ type: 'VAD', status: true });
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.live).toHaveLength(1);
    expect(fake.streams).toHaveLength(1);
    h.subs.update('a', ['button_press']);
    expect(fake.live).toHaveLength(0);
    expect(h.manager.streamCount).toBe(0);
  });

  it('VAD: silence finalizes at once and closes idle streams after the configured time; speech resumes them; bypassVad keeps them open', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US']);
    h.manager.handleVad({ type: 'VAD', status: 'true' });
    const first = fake.live[0]!;
    h.manager.handleVad({ type: 'VAD', status: 'false' });
    expect(first.finalized).toBe(1);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(first.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(first.closed).toBe(true);
    h.manager.handleVad({ type: 'VAD', status: true });
    expect(fake.live).toHaveLength(1);
    // An audio_chunk subscriber turns on bypassVad: silence no longer closes the stream.
    h.addApp('raw', ['audio_chunk']);
    await vi.advanceTimersByTimeAsync(200);
    expect(h.glassesSent.filter((m) => m.type === 'microphone_state_change').at(-1).bypassVad).toBe(true);
    h.manager.handleVad({ type: 'VAD', status: false });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.live).toHaveLength(1);
  });

  it('without any VAD report, audio opens the stream and a long silence closes it', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US']);
    expect(fake.streams).toHaveLength(0);
    h.audio.handleAudio(Buffer.alloc(3200));
    expect(fake.live).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(0);
    h.audio.handleAudio(Buffer.alloc(3200));
    expect(fake.live[0]!.bytes).toBe(6400);
    await vi.advanceTimersByTimeAsync(6_000);
    h.manager.reconcile();
    expect(fake.live).toHaveLength(0);
  });

  it('restarts a failed stream with backoff, and a stream that stays silent while audio flows', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US']);
    h.manager.handleVad({ type: 'VAD', status: true });
    await vi.advanceTimersByTimeAsync(0);
    fake.live[0]!.say('hi', true); // a healthy start resets the backoff
    fake.live[0]!.fail();
    expect(fake.live).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000); // base 1 s, jitter in [0.5, 1] s
    expect(fake.live).toHaveLength(1);
    // 3 s of audio with no result: restarted.
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 10; i++) h.audio.handleAudio(Buffer.alloc(32_000 / 2)); // 5 s of audio
    expect(fake.streams[1]!.closed).toBe(true);
    const view = h.manager.describe().streams[0]!;
    expect(view.restarts).toBe(2);
    expect(view.lastError).toMatch(/no result/);
  });

  it('a provider that keeps failing cools off for every session and the next configured provider takes over; no storm while both are down', async () => {
    const primary = new FakeProvider('primary');
    const backup = new FakeProvider('backup');
    const registry = new ProviderRegistry(config);
    registry.register(primary);
    registry.register(backup);
    const sessions = [harness(registry), harness(registry), harness(registry)];
    for (const h of sessions) {
      h.addApp('a', ['transcription:en-US']);
      h.manager.handleVad({ type: 'VAD', status: true });
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(primary.live).toHaveLength(3);
    for (const s of primary.live) s.fail();
    // Three failures in a row: primary cools off; every retry goes to the backup.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(backup.live).toHaveLength(3);
    expect(registry.describe().find((p) => p.name === 'primary')!.coolingOff).toBe(true);
    // Both down: attempts are bounded by backoff and cool-off, not a tight loop.
    for (let round = 0; round < 5; round++) {
      for (const s of [...primary.live, ...backup.live]) s.fail();
      await vi.advanceTimersByTimeAsync(10_000);
    }
    const attempts = primary.streams.length + backup.streams.length;
    expect(attempts).toBeLessThan(40);
    for (const h of sessions) expect(h.manager.describe().streams[0]!.state).not.toBe('closed');
    // After the cool-off the primary is used again.
    const before = primary.streams.length;
    await vi.advanceTimersByTimeAsync(70_000);
    expect(primary.streams.length).toBeGreaterThan(before);
    expect(primary.live.length + backup.live.length).toBe(3);
  });

  it('with no cloud provider configured, audio goes nowhere and nothing is logged per frame; local transcripts still reach subscribers', () => {
    const h = harness();
    const warn = vi.spyOn(h.ctx.logger, 'warn');
    h.addApp('a', ['transcription:fr-FR']);
    for (let i = 0; i < 100; i++) h.audio.handleAudio(Buffer.alloc(640));
    expect(h.manager.streamCount).toBe(0);
    expect(warn).not.toHaveBeenCalled();
    h.manager.handleLocalTranscription({
      type: 'local_transcription',
      text: 'bonjour',
      isFinal: true,
      transcribeLanguage: 'fr-FR',
    });
    expect(h.transcripts('a').map((m) => [m.streamType, m.data.text, m.data.provider])).toEqual([
      ['transcription:fr-FR', 'bonjour', 'local'],
    ]);
  });

  it('phone-side transcripts of a language a cloud stream transcribes are dropped; while that stream is down they are delivered', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US']);
    h.manager.handleVad({ type: 'VAD', status: true });
    await vi.advanceTimersByTimeAsync(0);
    const local = (text: string) =>
      h.manager.handleLocalTranscription({
        type: 'local_transcription',
        text,
        isFinal: true,
        transcribeLanguage: 'en-US',
      });
    fake.live[0]!.say('hello world', true);
    local('hello world');
    expect(h.transcripts('a').map((m) => [m.data.text, m.data.provider])).toEqual([['hello world', 'fake']]);
    fake.live[0]!.fail(); // backoff: the cloud hears nothing until the restart
    local('while it restarts');
    expect(h.transcripts('a').map((m) => [m.data.text, m.data.provider])).toEqual([
      ['hello world', 'fake'],
      ['while it restarts', 'local'],
    ]);
    expect(h.manager.describe().localTranscriptsDropped).toBe(1);
  });

  it('dispose closes every stream and leaves no timers', async () => {
    const fake = new FakeProvider('fake');
    const registry = new ProviderRegistry(config);
    registry.register(fake);
    const h = harness(registry);
    h.addApp('a', ['transcription:en-US', 'transcription:es-ES']);
    h.manager.handleVad({ type: 'VAD', status: true });
    h.manager.handleVad({ type: 'VAD', status: false });
    await h.ctx.dispose();
    expect(fake.live).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(vi.getTimerCount()).toBe(0);
  });
});
