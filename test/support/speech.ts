import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Real speech as the glasses send it: espeak-ng (Debian) → WAV → sox → raw PCM s16le, 16 kHz, mono.
 * Throws (never skips) when the tools are missing; .ci/run installs them.
 */
export function synthesizePcm(text: string, voice = 'en-us'): Buffer {
  if (!existsSync('/usr/bin/espeak-ng') || !existsSync('/usr/bin/sox'))
    throw new Error('espeak-ng and sox are needed (apt-get install espeak-ng sox)');
  const wav = execFileSync('/usr/bin/espeak-ng', ['-v', voice, '--stdout', text], { maxBuffer: 64 * 1024 * 1024 });
  return execFileSync(
    '/usr/bin/sox',
    ['-t', 'wav', '-', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', '-'],
    { input: wav, maxBuffer: 64 * 1024 * 1024 },
  );
}

/** Trailing silence so endpoint detection can close an utterance. */
export function silence(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms * 32));
}
