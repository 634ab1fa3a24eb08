import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { UpgradeRefusedError } from '../simulated-glasses.js';
import { SetupError } from './admin-client.js';
import { EXIT, parseCliArgs, UsageError, USAGE } from './args.js';
import { AudioFileError } from './audio.js';
import { runInteractive } from './interactive.js';
import { prepareScript, runSteps } from './runner.js';
import { parseScript, ScriptError } from './script.js';
import { bringUp, tearDown, type SimSession } from './session.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  env: process.env,
};

/** The whole CLI; resolves with the exit code (see EXIT). */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let session: SimSession | null = null;
  try {
    const opts = parseCliArgs(argv, io.env);
    if (opts.help) {
      io.out(USAGE);
      return EXIT.OK;
    }

    // Everything that can be wrong with the input is found before the cloud is touched.
    let prepared = null;
    if (opts.scriptPath) {
      let text: string;
      try {
        text = await readFile(opts.scriptPath, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UsageError(
          `cannot read script ${opts.scriptPath}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        );
      }
      const steps = parseScript(text, { fileName: basename(opts.scriptPath), baseDir: dirname(opts.scriptPath) });
      prepared = await prepareScript(steps, { apps: opts.apps });
    }

    session = await bringUp(opts, io.out);

    if (prepared) {
      io.out(`running ${prepared.steps.length} steps from ${basename(opts.scriptPath!)}`);
      const result = await runSteps(session, prepared, io.out);
      if (result.ok) {
        io.out(`PASS: all ${result.passed} steps passed`);
        return EXIT.OK;
      }
      const f = result.failure!;
      io.err(
        `FAIL: step ${f.step.index} (${f.step.label}, line ${f.step.line}) failed after ${result.passed} passed: ${f.message.split('\n').join(' — ')}`,
      );
      return EXIT.STEP_FAILED;
    }

    const link = await session.admin
      .simulatorLink(opts.userId, opts.model.name)
      .then((l) => (l ? `${opts.cloudUrl}${l.path}` : null))
      .catch(() => null);
    await runInteractive(session, link);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      io.err('run with --help for usage');
      return EXIT.BAD_INPUT;
    }
    if (err instanceof ScriptError) {
      io.err(`error in script ${err.message}`);
      return EXIT.BAD_INPUT;
    }
    if (err instanceof AudioFileError) {
      io.err(`error: ${err.message}`);
      return EXIT.BAD_INPUT;
    }
    if (err instanceof SetupError || err instanceof UpgradeRefusedError) {
      io.err(`error: ${err.message}`);
      return EXIT.SETUP_FAILED;
    }
    io.err(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT.SETUP_FAILED;
  } finally {
    if (session) await tearDown(session);
  }
}
