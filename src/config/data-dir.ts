import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * DATA_DIR cannot be used by this process. Its message is written for the operator who has to fix it (which
 * directory, which user, what to run), so the boot prints it as is, not as an "Invalid configuration" line.
 */
export class DataDirError extends Error {
  readonly code = 'DATA_DIR_NOT_WRITABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataDirError';
  }
}

/**
 * Creates DATA_DIR (mode 0700: it holds the generated secrets, the signing key and the embedded store) and checks
 * that this process may write there, before anything tries to: otherwise the first failure would be an EACCES on
 * some temporary file name that tells the operator nothing about the directory or the user.
 */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const parent = nearestExisting(dirname(dir));
    throw new DataDirError(
      `DATA_DIR ${dir} does not exist and this process (${whoAmI()}) cannot create it (${codeOf(err)}): ${parent ? `${parent.path} is ${describeOwner(parent.path)}` : 'no parent directory exists'}.\n` +
        advice(dir, false),
      { cause: err },
    );
  }
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new DataDirError(`DATA_DIR ${dir} cannot be read (${codeOf(err)}).\n${advice(dir, true)}`, {
      cause: err,
    });
  }
  if (!isDir) throw new DataDirError(`DATA_DIR ${dir} is not a directory: point DATA_DIR at a directory.`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new DataDirError(
      `DATA_DIR ${dir} is not writable by this process (${whoAmI()}): it is ${describeOwner(dir)} (${codeOf(err)}).\n` +
        advice(dir, true),
      { cause: err },
    );
  }
}

function advice(dir: string, exists: boolean): string {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const owner = uid === undefined ? '<this user>' : `${uid}:${gid}`;
  const give = exists
    ? `chown -R ${owner} ${dir} && chmod 700 ${dir}`
    : `mkdir -p -m 700 ${dir} && chown -R ${owner} ${dir}`;
  return [
    `The service keeps its generated secrets, its signing key and (without MONGO_URL) its store in DATA_DIR, so it stops here. Either:`,
    `  - give the directory to the user the service runs as (uid ${uid ?? '?'}): ${give}`,
    `  - or, in Docker, where the image runs as user node: a volume created by an older image or a bind-mounted host directory keeps its owner; fix it once with`,
    `      docker compose run --rm --no-deps --user root cloud chown -R node:node ${dir}`,
    `    (for a bind mount: chown -R ${owner} <host directory> on the host),`,
    `  - or set DATA_DIR to a directory this user can write.`,
  ].join('\n');
}

function whoAmI(): string {
  const uid = process.getuid?.();
  return uid === undefined ? 'the current user' : `uid ${uid}, gid ${process.getgid?.()}`;
}

function describeOwner(path: string): string {
  try {
    const st = statSync(path);
    return `owned by uid ${st.uid}, gid ${st.gid}, mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}`;
  } catch (err) {
    return `not readable (${codeOf(err)})`;
  }
}

function nearestExisting(path: string): { path: string } | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      statSync(p);
      return { path: p };
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
