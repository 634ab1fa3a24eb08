import { createInterface, emitKeypressEvents } from 'node:readline';
import { synthesizeSpeech } from './audio.js';
import { renderScreen } from './render.js';
import type { SimSession } from './session.js';

/**
 * Interactive mode: the glasses display drawn in the terminal, redrawn on every message, with
 * keys for the button, head and speech. Resolves when the user quits.
 */
export async function runInteractive(session: SimSession, link: string | null): Promise<void> {
  const g = session.glasses;
  const stdin = process.stdin;
  const stdout = process.stdout;
  let headUp = false;
  let status = '';
  const recent: string[] = [];
  let prompting = false;
  let timer: NodeJS.Timeout | null = null;

  const draw = (): void => {
    timer = null;
    if (prompting) return;
    const lines = renderScreen({
      model: g.model,
      state: g.state,
      headUp,
      userId: session.opts.userId,
      apps: session.opts.apps,
      status,
      link,
    });
    stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n${recent.map((r) => `  ${r}`).join('\n')}\n`);
  };
  const redraw = (): void => {
    timer ??= setTimeout(draw, 30);
  };
  const note = (line: string): void => {
    recent.push(`${new Date().toISOString().slice(11, 19)} ${line}`);
    if (recent.length > 6) recent.shift();
    redraw();
  };

  g.on('message', (m) => {
    if (m.type === 'ping' || m.type === 'pong') return;
    note(`↓ ${m.type}${m.type === 'display_event' ? ` ${m.view ?? 'main'} ${m.packageName ?? ''}` : ''}`);
  });
  g.on('close', (info) => {
    status = `socket closed (${info.code}${info.reason ? ` ${info.reason}` : ''}) — press r to reconnect`;
    redraw();
  });

  const ask = (question: string): Promise<string> =>
    new Promise((resolve) => {
      prompting = true;
      if (stdin.isTTY) stdin.setRawMode(false);
      stdout.write(`\n${question}`);
      const rl = createInterface({ input: stdin, output: stdout, terminal: false });
      rl.once('line', (answer) => {
        rl.close();
        prompting = false;
        if (stdin.isTTY) stdin.setRawMode(true);
        stdin.resume();
        resolve(answer.trim());
        redraw();
      });
    });

  const act = (what: string, fn: () => void | Promise<void>): void => {
    Promise.resolve()
      .then(fn)
      .then(() => note(`↑ ${what}`))
      .catch((err: unknown) => {
        status = `${what} failed: ${(err as Error).message}`;
        redraw();
      });
  };

  emitKeypressEvents(stdin);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.resume();
  draw();

  await new Promise<void>((resolve) => {
    const onKey = (
      str: string | undefined,
      key: { name?: string; ctrl?: boolean; shift?: boolean } | undefined,
    ): void => {
      if (prompting) return;
      const k = str ?? key?.name ?? '';
      if ((key?.ctrl && key.name === 'c') || k === 'q') {
        stdin.off('keypress', onKey);
        resolve();
        return;
      }
      switch (k) {
        case 'b':
          act('button short press', () => g.pressButton('short'));
          break;
        case 'B':
          act('button long press', () => g.pressButton('long'));
          break;
        case 'u':
          headUp = true;
          act('head up', () => g.headPosition('up'));
          break;
        case 'd':
          headUp = false;
          act('head down', () => g.headPosition('down'));
          break;
        case 's':
          void ask('say> ').then((text) => {
            if (text) act(`say "${text}"`, () => g.sendTranscript(text));
          });
          break;
        case 't':
          void ask('speak (synthesized audio)> ').then((text) => {
            if (!text) return;
            act(`speak "${text}"`, async () => {
              const pcm = await synthesizeSpeech(text);
              g.vad(true);
              await g.streamPcm(pcm);
              if (g.isOpen) g.vad(false);
            });
          });
          break;
        case 'r':
          act('reconnect', async () => {
            await g.reconnect();
            status = 'reconnected';
          });
          break;
        default:
          break;
      }
    };
    stdin.on('keypress', onKey);
  });

  if (timer) clearTimeout(timer);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  stdout.write('\n');
}
