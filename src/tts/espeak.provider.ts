import { spawn } from 'node:child_process';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { fixWavSizes } from './wav.util.js';
import { DEFAULT_TTS_OPTIONS, TtsUnavailableError, type SynthesizedAudio, type TtsProvider } from './tts-provider.js';

export const ESPEAK_BINARY = 'espeak-ng';
/** What `apt-get install` needs; said in every "not installed" error. */
const INSTALL_HINT = 'install the Debian package espeak-ng (apt-get install espeak-ng)';
/** Output cap: 1,000 characters come to ~3 MB of 22 kHz 16-bit audio; anything far beyond is a runaway. */
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const DEFAULT_VOICE = 'en-us';
/** espeak language codes: letters, digits and `-` (en-us, pt-br, en-gb-x-rp, cmn-latn-pinyin). */
const VOICE_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

export interface EspeakOptions {
  /** The executable (a name on PATH or a path); tests point it at something missing. */
  binary?: string;
  /** Used when the SDK's voice_id is not an espeak-ng language code (it usually names an upstream hosted voice). */
  defaultVoice?: string;
  timeoutMs?: number;
}

export const ESPEAK_OPTIONS = Symbol('ESPEAK_OPTIONS');

/**
 * espeak-ng, installed from Debian, run once per synthesis with an argument array (never a shell); the text
 * goes in on stdin, so nothing in it can be read as an option, and the WAV comes back on stdout.
 */
@Injectable()
export class EspeakTtsProvider implements TtsProvider {
  readonly name = 'espeak-ng';
  private readonly logger = new Logger(EspeakTtsProvider.name);
  private readonly binary: string;
  private readonly defaultVoice: string;
  private readonly timeoutMs: number;
  private voices: Promise<Set<string>> | undefined;

  constructor(@Optional() @Inject(ESPEAK_OPTIONS) options?: EspeakOptions) {
    this.binary = options?.binary ?? ESPEAK_BINARY;
    this.defaultVoice = options?.defaultVoice ?? DEFAULT_VOICE;
    this.timeoutMs = options?.timeoutMs ?? DEFAULT_TTS_OPTIONS.timeoutMs;
  }

  async resolveVoice(voiceId: string | undefined): Promise<string> {
    const wanted = voiceId?.trim().toLowerCase();
    if (!wanted || !VOICE_PATTERN.test(wanted)) return this.defaultVoice;
    const known = await this.knownVoices();
    return known.has(wanted) ? wanted : this.defaultVoice;
  }

  async synthesize(text: string, voice: string, signal: AbortSignal): Promise<SynthesizedAudio> {
    const { stdout } = await this.run(['--stdout', '-b', '1', '-v', voice], text, signal);
    if (stdout.length <= 44) throw new Error(`${this.binary} produced no audio`);
    return { contentType: 'audio/wav', data: fixWavSizes(stdout) };
  }

  /** The language codes of `espeak-ng --voices`, read once (an empty set if that fails: the default voice only). */
  private knownVoices(): Promise<Set<string>> {
    this.voices ??= this.run(['--voices'], '', AbortSignal.timeout(this.timeoutMs))
      .then(({ stdout }) => {
        const codes = new Set<string>();
        for (const line of stdout.toString('utf8').split('\n').slice(1)) {
          const code = line.trim().split(/\s+/)[1]?.toLowerCase();
          if (code && VOICE_PATTERN.test(code)) codes.add(code);
        }
        return codes;
      })
      .catch((err: unknown) => {
        this.voices = undefined; // try again next time (say, once espeak-ng got installed)
        if (err instanceof TtsUnavailableError) throw err;
        this.logger.warn(`listing voices failed: ${String(err)}`);
        return new Set<string>();
      });
    return this.voices;
  }

  private run(args: string[], input: string, signal: AbortSignal): Promise<{ stdout: Buffer }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe'], shell: false, windowsHide: true });
      const chunks: Buffer[] = [];
      let bytes = 0;
      let stderr = '';
      let failure: Error | undefined;
      const fail = (err: Error): void => {
        failure ??= err;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(
        () => fail(new TtsUnavailableError(`${this.binary} took longer than ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      const onAbort = (): void => fail(new Error('synthesis aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_OUTPUT_BYTES) fail(new Error(`${this.binary} output exceeded ${MAX_OUTPUT_BYTES} bytes`));
        else chunks.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 2_000) stderr += chunk.toString('utf8');
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        failure ??=
          err.code === 'ENOENT' || err.code === 'EACCES'
            ? new TtsUnavailableError(`Text to speech is unavailable: ${this.binary} is not installed; ${INSTALL_HINT}`)
            : err;
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (failure) reject(failure);
        else if (code !== 0)
          reject(new Error(`${this.binary} exited with ${code ?? sig}: ${stderr.trim().slice(0, 300)}`));
        else resolve({ stdout: Buffer.concat(chunks) });
      });
      // A missing binary closes stdin before we write: ignore EPIPE there, the 'error' event reports it.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input, 'utf8');
    });
  }
}
