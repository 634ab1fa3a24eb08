import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseEnv } from '../../src/config/app-config.js';
import { ROOT } from '../faults/support.js';

/**
 * Reading the deployment files the way Docker and Compose would, without either: a small parser of Dockerfile
 * instructions, a model of what the `RUN` lines that prepare directories leave behind (owner, mode), and
 * docker-compose.yml through a YAML parser with Compose's `${VAR:-default}` interpolation.
 */

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line of the instruction's first line. */
  line: number;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage: continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let logical = '';
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    // A line ending in a backslash continues; comment lines inside a continuation are skipped, as Docker does.
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      logical += line.replace(/\\\s*$/, ' ');
      line = lines[++i]!;
      while (/^\s*#/.test(line) && i + 1 < lines.length) line = lines[++i]!;
    }
    logical += line;
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(logical);
    if (!m) throw new Error(`Dockerfile line ${first}: not an instruction: ${logical}`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile line ${first}: bad FROM: ${args}`);
      stages.push({ image: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${first}: ${keyword} before FROM`);
    stages.at(-1)!.instructions.push({ keyword, args, line: first });
  }
  return stages;
}

export function readDockerfile(path = join(ROOT, 'Dockerfile')): Stage[] {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

/** The stage the image runs: the last one. */
export function runtimeStage(stages: Stage[]): Stage {
  const last = stages.at(-1);
  if (!last) throw new Error('Dockerfile has no FROM');
  return last;
}

/** Exec form (`["a", "b"]`) or whitespace-separated words. */
export function argList(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/).filter(Boolean);
}

const unquote = (v: string) => v.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');

/** Every ENV of a stage, in order (`K=V K2=V2`, or the old `K V` form). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (!ins.args.includes('=')) {
      const [k, ...rest] = ins.args.split(/\s+/);
      env[k!] = unquote(rest.join(' '));
      continue;
    }
    for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) env[m[1]!] = unquote(m[2]!);
  }
  return env;
}

/** The user the stage ends as (root when it never says). */
export function stageUser(stage: Stage): string {
  const users = stage.instructions.filter((i) => i.keyword === 'USER');
  return users.length ? users.at(-1)!.args.split(':')[0]! : 'root';
}

/** The shell commands of every RUN of a stage, split at `&&` and `;`, each as words. */
export function runCommands(stage: Stage, before = Infinity): Array<{ index: number; words: string[] }> {
  const out: Array<{ index: number; words: string[] }> = [];
  stage.instructions.forEach((ins, index) => {
    if (ins.keyword !== 'RUN' || index >= before) return;
    for (const cmd of ins.args.split(/&&|;/)) {
      const words = cmd.trim().split(/\s+/).filter(Boolean).map(unquote);
      if (words.length) out.push({ index, words });
    }
  });
  return out;
}

/** Debian packages a stage installs with apt-get / apt install. */
export function aptPackages(stage: Stage): string[] {
  const pkgs: string[] = [];
  for (const { words } of runCommands(stage)) {
    const at = words.findIndex((w, i) => /^apt(-get)?$/.test(w) && words[i + 1] === 'install');
    if (at >= 0) pkgs.push(...words.slice(at + 2).filter((w) => !w.startsWith('-')));
  }
  return pkgs;
}

/** The directory a stage's relative paths resolve against at instruction `before`. */
export function workdir(stage: Stage, before = Infinity): string {
  let dir = '/';
  stage.instructions.slice(0, before).forEach((i) => {
    if (i.keyword === 'WORKDIR') dir = posix.resolve(dir, i.args);
  });
  return dir;
}

/** Each VOLUME path of the stage with the index of the instruction that declares it. */
export function volumes(stage: Stage): Array<{ path: string; index: number }> {
  return stage.instructions.flatMap((ins, index) =>
    ins.keyword === 'VOLUME' ? argList(ins.args).map((path) => ({ path: posix.normalize(path), index })) : [],
  );
}

/**
 * The paths the running image writes: every VOLUME, and DATA_DIR as the image sets it (or the config's default,
 * resolved against WORKDIR). Each must be the runtime user's, with the owner and mode set before VOLUME: a new named
 * volume takes them from the image, and changes after VOLUME are discarded.
 */
export function writtenPaths(stage: Stage, dataDir?: string): Array<{ what: string; path: string; before: number }> {
  const vols = volumes(stage);
  const dir = posix.resolve(workdir(stage), dataDir ?? stageEnv(stage).DATA_DIR ?? parseEnv({}).DATA_DIR);
  const holding = vols.find((v) => dir === v.path || dir.startsWith(`${v.path}/`));
  return [
    ...vols.map((v) => ({ what: `VOLUME ${v.path}`, path: v.path, before: v.index })),
    { what: `DATA_DIR ${dir}`, path: dir, before: holding?.index ?? Infinity },
  ];
}

export interface PathState {
  owner: string;
  group: string;
  mode: number;
}

/** What Docker gives a VOLUME path, or a path no RUN created: root's, 0755. */
export const DOCKER_DEFAULT: PathState = { owner: 'root', group: 'root', mode: 0o755 };

/**
 * Owner and mode of `path` as the stage's RUN lines before instruction `before` leave it, from the commands that
 * prepare directories (mkdir, install -d, chown, chmod with an octal mode). Anything else is ignored.
 */
export function pathState(stage: Stage, path: string, before = Infinity): PathState {
  const norm = (p: string) => posix.normalize(p).replace(/(.)\/+$/, '$1');
  const target = norm(path);
  let state: PathState | undefined;
  const userAt = (index: number) => {
    const users = stage.instructions.slice(0, index).filter((i) => i.keyword === 'USER');
    return users.length ? users.at(-1)!.args.split(':')[0]! : 'root';
  };
  for (const { index, words } of runCommands(stage, before)) {
    const user = userAt(index);
    const [cmd, ...rest] = words;
    const opts = new Map<string, string>();
    const operands: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i]!;
      if (/^-[ogm]$/.test(w)) opts.set(w, rest[++i]!);
      else if (w.startsWith('-')) opts.set(w, '');
      else operands.push(w);
    }
    const hits = (paths: string[]) => paths.some((p) => norm(p) === target);
    if (cmd === 'mkdir' && hits(operands)) {
      state = { owner: user, group: user, mode: opts.has('-m') ? parseInt(opts.get('-m')!, 8) : 0o755 };
    } else if (cmd === 'install' && opts.has('-d') && hits(operands)) {
      state = {
        owner: opts.get('-o') ?? user,
        group: opts.get('-g') ?? user,
        mode: opts.has('-m') ? parseInt(opts.get('-m')!, 8) : 0o755,
      };
    } else if (cmd === 'chown' && hits(operands.slice(1))) {
      const [owner, group] = operands[0]!.split(':');
      state = { ...(state ?? DOCKER_DEFAULT), owner: owner!, group: group ?? (state ?? DOCKER_DEFAULT).group };
    } else if (cmd === 'chmod' && /^[0-7]{3,4}$/.test(operands[0] ?? '') && hits(operands.slice(1))) {
      state = { ...(state ?? DOCKER_DEFAULT), mode: parseInt(operands[0]!, 8) };
    }
  }
  return state ?? DOCKER_DEFAULT;
}

export interface ComposeService {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  profiles?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function readCompose(path = join(ROOT, 'docker-compose.yml')): ComposeFile {
  return parseYaml(readFileSync(path, 'utf8')) as ComposeFile;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$$`; `shell` is the caller's environment. */
export function interpolate(value: string, shell: Record<string, string | undefined> = {}): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (all, name, op, dflt) => {
    if (all === '$$') return '$';
    const v = shell[name as string];
    if (op === ':-') return v === undefined || v === '' ? dflt : v;
    if (op === '-') return v === undefined ? dflt : v;
    return v ?? '';
  });
}

/** A service's environment as Compose hands it to the container (shell: the environment `docker compose` runs in). */
export function serviceEnv(
  svc: ComposeService,
  shell: Record<string, string | undefined> = {},
): Record<string, string> {
  const entries: Array<[string, string]> = Array.isArray(svc.environment)
    ? svc.environment.map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? [kv, shell[kv] ?? ''] : [kv.slice(0, i), kv.slice(i + 1)];
      })
    : Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, shell)]));
}

/** depends_on in its long form (the short list form means `service_started`). */
export function dependsOn(svc: ComposeService): Record<string, string> {
  if (!svc.depends_on) return {};
  if (Array.isArray(svc.depends_on)) return Object.fromEntries(svc.depends_on.map((s) => [s, 'service_started']));
  return Object.fromEntries(
    Object.entries(svc.depends_on).map(([s, d]) => [s, d?.condition ?? 'service_started'] as const),
  );
}

/** `name:/path[:ro]` volume entries of a service as {source, target}. */
export function serviceVolumes(svc: ComposeService): Array<{ source: string; target: string }> {
  return (svc.volumes ?? []).map((v) => {
    const [source, target] = v.split(':');
    return { source: source!, target: target! };
  });
}
