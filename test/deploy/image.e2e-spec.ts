import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ESPEAK_BINARY } from '../../src/tts/espeak.provider.js';
import { ROOT } from '../faults/support.js';
import {
  aptPackages,
  argList,
  parseDockerfile,
  pathState,
  readDockerfile,
  runtimeStage,
  stageEnv,
  stageUser,
  volumes,
  workdir,
  writtenPaths,
} from './deploy-files.js';

describe('Dockerfile', () => {
  const stages = readDockerfile();
  const runtime = runtimeStage(stages);
  const user = stageUser(runtime);

  it('the parser reads continuation lines, comments, stages, ENV pairs and exec-form arguments', () => {
    const parsed = parseDockerfile(
      [
        'FROM a:1 AS build',
        'RUN x \\',
        '  # a comment inside',
        '  && y',
        '',
        'FROM b:2',
        'ENV A=1 B="two words"',
        'USER node',
        'VOLUME ["/v"]',
      ].join('\n'),
    );
    expect(parsed.map((s) => [s.image, s.name])).toEqual([
      ['a:1', 'build'],
      ['b:2', undefined],
    ]);
    expect(parsed[0]!.instructions[0]).toMatchObject({ keyword: 'RUN', line: 2 });
    expect(parsed[0]!.instructions[0]!.args).toMatch(/^x\s+&& y$/);
    expect(stageEnv(parsed[1]!)).toEqual({ A: '1', B: 'two words' });
    expect(stageUser(parsed[1]!)).toBe('node');
    expect(volumes(parsed[1]!)).toEqual([{ path: '/v', index: 2 }]);
  });

  it('the ownership model sees install -d, mkdir + chown, chmod, and what RUN lines after VOLUME cannot change', () => {
    const [stage] = parseDockerfile(
      [
        'FROM x',
        'RUN install -d -o node -g node -m 0700 /a && mkdir -p /b && chown node:node /b && chmod 750 /b',
        'VOLUME /c',
        'RUN mkdir /c && chown node /c',
      ].join('\n'),
    );
    expect(pathState(stage!, '/a')).toEqual({ owner: 'node', group: 'node', mode: 0o700 });
    expect(pathState(stage!, '/b/')).toEqual({ owner: 'node', group: 'node', mode: 0o750 });
    expect(pathState(stage!, '/c', 1)).toEqual({ owner: 'root', group: 'root', mode: 0o755 });
  });

  it('runs as an unprivileged user that owns every path it writes (DATA_DIR, VOLUME), mode 0700, set before VOLUME', () => {
    expect(user, 'the runtime stage has a USER').not.toBe('root');
    const paths = writtenPaths(runtime);
    expect(paths.map((p) => p.what)).toContain('VOLUME /data');
    for (const { what, path, before } of paths) {
      expect(before, `${what} lies in a VOLUME (its data outlives the container)`).not.toBe(Infinity);
      const state = pathState(runtime, path, before);
      expect(state.owner, `${what} is owned by the runtime user ${user}`).toBe(user);
      expect(state.mode & 0o300, `${what} is writable and searchable by its owner`).toBe(0o300);
      expect(state.mode & 0o077, `${what} is private to its owner (it holds the secrets)`).toBe(0);
    }
  });

  it('installs espeak-ng in the runtime stage, so session.audio.speak() works in the container', () => {
    expect(aptPackages(runtime)).toContain(ESPEAK_BINARY);
  });

  it("copies the CMD's entry script into the runtime stage's WORKDIR", () => {
    const cmd = runtime.instructions.findLast((i) => i.keyword === 'CMD');
    expect(cmd, 'the runtime stage has a CMD').toBeDefined();
    const script = posix.resolve(workdir(runtime), argList(cmd!.args).at(-1)!);
    const copied = runtime.instructions.flatMap((ins, index) => {
      if (ins.keyword !== 'COPY') return [];
      const words = argList(ins.args).filter((w) => !w.startsWith('--'));
      return [posix.resolve(workdir(runtime, index), words.at(-1)!)];
    });
    expect(copied.some((dest) => script.startsWith(`${dest}/`))).toBe(true);
  });

  it('every COPY from the build context names a file that exists and that .dockerignore lets through', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/^\/|\/$/g, ''))
      .filter((l) => l && !l.startsWith('#'));
    const sources = stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
        .flatMap((i) =>
          argList(i.args)
            .filter((w) => !w.startsWith('--'))
            .slice(0, -1),
        ),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), `${src} exists in the build context`).toBe(true);
      expect(ignored, `${src} is not excluded by .dockerignore`).not.toContain(posix.normalize(src).split('/')[0]);
    }
  });
});
