import { AppServer, type AppSession } from '@mentra/sdk';

/**
 * The example app of the "develop an app without glasses" README section: an unmodified
 * @mentra/sdk 2.1.29 app. Button → display, final transcription → display, a press counter on
 * the dashboard, and (optionally) audio chunks counted so a test can check the microphone path.
 *
 * Standalone: PACKAGE_NAME=com.example.hello MENTRAOS_API_KEY=… PORT=7010 node --import tsx test/support/example-app.ts
 */

export interface AudioStats {
  chunks: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
  /** The first few seconds of PCM, kept for frequency checks. */
  pcm: Buffer[];
  pcmBytes: number;
}

export interface ExampleStats {
  presses: number;
  transcripts: string[];
  audio: AudioStats;
}

export function newExampleStats(): ExampleStats {
  return { presses: 0, transcripts: [], audio: { chunks: 0, bytes: 0, firstAt: 0, lastAt: 0, pcm: [], pcmBytes: 0 } };
}

export function exampleOnSession(session: AppSession, stats: ExampleStats, opts: { audio?: boolean } = {}): void {
  session.layouts.showTextWall('Example app ready: press the button or say something');
  session.events.onButtonPress((press) => {
    stats.presses++;
    session.layouts.showTextWall(`Button: ${press.pressType} press #${stats.presses}`);
    session.dashboard.content.writeToMain(`Example: ${stats.presses} presses`);
  });
  session.events.onTranscription((t) => {
    if (!t.isFinal) return;
    stats.transcripts.push(t.text);
    session.layouts.showTextWall(`You said: ${t.text}`);
  });
  if (opts.audio) {
    session.events.onAudioChunk((chunk) => {
      const buf = Buffer.from(chunk.arrayBuffer as ArrayBuffer);
      const a = stats.audio;
      const now = Date.now();
      if (a.chunks === 0) a.firstAt = now;
      a.lastAt = now;
      a.chunks++;
      a.bytes += buf.length;
      if (a.pcmBytes < 32_000 * 10) {
        a.pcm.push(Buffer.from(buf));
        a.pcmBytes += buf.length;
      }
    });
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const packageName = process.env.PACKAGE_NAME ?? 'com.example.hello';
  const apiKey = process.env.MENTRAOS_API_KEY ?? '';
  const port = Number(process.env.PORT ?? 7010);
  if (!apiKey) {
    console.error('Set MENTRAOS_API_KEY to the key the developer console showed when you registered the app');
    process.exit(2);
  }
  const stats = newExampleStats();
  class ExampleApp extends AppServer {
    protected override async onSession(session: AppSession): Promise<void> {
      exampleOnSession(session, stats, { audio: process.env.AUDIO === '1' });
    }
  }
  await new ExampleApp({ packageName, apiKey, port }).start();
  console.log(`${packageName} listening on http://127.0.0.1:${port} (webhook: /webhook)`);
}
