import { describe, expect, it, vi } from 'vitest';
import type { AudioManager } from '../audio/audio-manager.js';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import type { ProviderRegistry } from '../transcription/providers/provider-registry.js';
import type {
  TranscriptionData,
  TranscriptionManager,
  TranscriptListener,
} from '../transcription/transcription-manager.js';
import { INTERIM_TRANSLATION_INTERVAL_MS, TranslationManager } from './translation-manager.js';
import { appRecord } from '../../test/support/app-record.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const PKG = 'com.example.translator';
const PAIR = 'translation:fr-FR-to-en-US';

/**
 * Text translation (no speech provider, a LibreTranslate URL): the transcription manager is a stand-in the spec
 * feeds transcripts through; LibreTranslate's HTTP answer is `{translatedText}` from a stubbed fetch.
 */
function harness() {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const config = {
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
    media: { libreTranslate: { url: 'http://libre.invalid' }, voskUrls: new Map() },
  } as unknown as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const relay = new EventRelay(ctx, subscriptions, connections);
  const listeners: TranscriptListener[] = [];
  const required: Array<[string, string, boolean]> = [];
  const transcription = {
    onTranscript: (l: TranscriptListener) => {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
    require: (language: string, owner: string, needed: boolean) => void required.push([language, owner, needed]),
    wantAudio: () => undefined,
    isActive: () => true,
  } as unknown as TranscriptionManager;
  const registry = { providers: [] } as unknown as ProviderRegistry;
  const translations = new TranslationManager(
    ctx,
    subscriptions,
    relay,
    transcription,
    {} as AudioManager,
    registry,
    config,
  );
  const asked: string[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (_url, init) => {
    const { q } = JSON.parse(String(init?.body)) as { q: string };
    asked.push(q);
    return new Response(JSON.stringify({ translatedText: `EN(${q})` }), {
      headers: { 'content-type': 'application/json' },
    });
  });
  const rt = connections.create(appRecord(PKG, { permissions: [{ type: 'MICROPHONE' }] }));
  rt.state = 'running';
  const app = new FakeSocket();
  rt.ws = app.ws;
  subscriptions.registerApp(PKG, rt.app.permissions);
  const transcript = (text: string, isFinal: boolean, utteranceId = 'u1') => {
    const data: TranscriptionData = {
      type: 'transcription',
      text,
      isFinal,
      utteranceId,
      startTime: 0,
      endTime: 1,
      transcribeLanguage: 'fr-FR',
      provider: 'test',
    };
    for (const l of [...listeners]) l('fr-FR', data);
  };
  const received = () => app.take().map((m) => `${m.data.isFinal ? 'final' : 'interim'}:${m.data.text}`);
  return { ctx, subscriptions, translations, transcript, received, asked, required, listeners };
}

describe('TranslationManager (text translation)', () => {
  const clock = useFakeClock();

  it('asks the transcription manager for the source language while a pair is subscribed, and lets go after', () => {
    const h = harness();
    h.subscriptions.update(PKG, [PAIR]);
    expect(h.required).toEqual([['fr-FR', `translation:${PAIR}`, true]]);
    h.subscriptions.update(PKG, []);
    expect(h.required.at(-1)).toEqual(['fr-FR', `translation:${PAIR}`, false]);
  });

  it(`translates interims at most once per ${INTERIM_TRANSLATION_INTERVAL_MS} ms, the latest one, and finals at once`, async () => {
    const h = harness();
    h.subscriptions.update(PKG, [PAIR]);
    h.transcript('bon', false);
    await clock.advanceAsync(0);
    h.transcript('bonjour', false);
    h.transcript('bonjour à', false);
    await clock.advanceAsync(INTERIM_TRANSLATION_INTERVAL_MS - 1);
    expect(h.asked).toEqual(['bon']);
    await clock.advanceAsync(1);
    expect(h.asked).toEqual(['bon', 'bonjour à']);
    h.transcript('bonjour à tous', true);
    await clock.advanceAsync(0);
    expect(h.received()).toEqual(['interim:EN(bon)', 'interim:EN(bonjour à)', 'final:EN(bonjour à tous)']);
  });

  it('a final cancels the interim waiting for its slot', async () => {
    const h = harness();
    h.subscriptions.update(PKG, [PAIR]);
    h.transcript('un', false);
    await clock.advanceAsync(0);
    h.transcript('un deux', false);
    h.transcript('un deux trois', true);
    await clock.advanceAsync(INTERIM_TRANSLATION_INTERVAL_MS * 2);
    expect(h.asked).toEqual(['un', 'un deux trois']);
    expect(clock.pending()).toBe(0);
  });

  it('drops an interim answer that arrives after its utterance went final', async () => {
    const h = harness();
    h.subscriptions.update(PKG, [PAIR]);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    vi.mocked(globalThis.fetch).mockImplementationOnce(async () => {
      await slow;
      return new Response(JSON.stringify({ translatedText: 'EN(stale)' }));
    });
    h.transcript('vieux', false);
    h.transcript('vieux final', true);
    await clock.advanceAsync(0);
    release();
    await clock.advanceAsync(0);
    expect(h.received()).toEqual(['final:EN(vieux final)']);
  });

  it('listens to transcripts only while a text-translated pair is subscribed', () => {
    const h = harness();
    expect(h.listeners).toHaveLength(0);
    h.subscriptions.update(PKG, ['transcription:fr-FR']);
    expect(h.listeners).toHaveLength(0);
    h.subscriptions.update(PKG, [PAIR]);
    expect(h.listeners).toHaveLength(1);
    h.subscriptions.update(PKG, [PAIR, 'translation:de-DE-to-en-US']);
    expect(h.listeners).toHaveLength(1);
    h.subscriptions.update(PKG, []);
    expect(h.listeners).toHaveLength(0);
    h.subscriptions.update(PKG, [PAIR]);
    expect(h.listeners).toHaveLength(1);
  });

  it('clears its interim timer and stops listening at session end', async () => {
    const h = harness();
    h.subscriptions.update(PKG, [PAIR]);
    h.transcript('a', false);
    h.transcript('ab', false);
    await h.ctx.dispose();
    expect(clock.pending()).toBe(0);
    expect(h.listeners).toEqual([]);
  });
});
