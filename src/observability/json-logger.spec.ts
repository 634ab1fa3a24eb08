import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger.js';
import { runWithContext } from './request-context.js';

function capture(level: ConstructorParameters<typeof JsonLogger>[0]['level'] = 'log') {
  const lines: string[] = [];
  const logger = new JsonLogger({ level, format: 'json', destination: { write: (s: string) => void lines.push(s) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records };
}

describe('JsonLogger', () => {
  afterEach(() => Logger.overrideLogger(false));

  it('writes one JSON object per line with level name, ISO time, context and message', () => {
    const { logger, lines, records } = capture();
    logger.log('session opened', 'Sessions');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trim().includes('\n')).toBe(false);
    const [r] = records();
    expect(r).toMatchObject({ level: 'info', context: 'Sessions', msg: 'session opened' });
    expect(new Date(r!.time as string).toISOString()).toBe(r!.time);
  });

  it('is quiet below its level and lets setLogLevels change it', () => {
    const { logger, records } = capture('warn');
    logger.log('not shown', 'X');
    logger.debug('not shown', 'X');
    logger.warn('shown', 'X');
    expect(records().map((r) => r.msg)).toEqual(['shown']);
    logger.setLogLevels(['fatal', 'error', 'warn', 'log', 'debug']);
    logger.debug('now shown', 'X');
    expect(records().map((r) => r.msg)).toEqual(['shown', 'now shown']);
  });

  it('turns object messages into fields of the line', () => {
    const { logger, records } = capture();
    logger.warn(
      { msg: 'start failed', userId: 'u@example.com', packageName: 'com.x', startId: 'start-1', stage: 'WEBHOOK' },
      'Session u@example.com',
    );
    expect(records()[0]).toMatchObject({
      level: 'warn',
      msg: 'start failed',
      userId: 'u@example.com',
      packageName: 'com.x',
      startId: 'start-1',
      stage: 'WEBHOOK',
      context: 'Session u@example.com',
    });
  });

  it('keeps Nest framework start-up chatter at debug so the default level stays quiet', () => {
    const { logger, records } = capture('log');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Mapped {/health, GET} route', 'RouterExplorer');
    logger.log('a real event', 'Bootstrap');
    expect(records().map((r) => r.msg)).toEqual(['a real event']);
  });

  it('puts the stack of logger.error(message, stack) and of Error messages in the line', () => {
    const { logger, records } = capture();
    logger.error('boom', 'Error: boom\n    at somewhere', 'Ctx');
    logger.error(new Error('kaput'), 'Ctx');
    const [a, b] = records();
    expect(a).toMatchObject({ level: 'error', msg: 'boom', context: 'Ctx', stack: 'Error: boom\n    at somewhere' });
    expect(b).toMatchObject({ level: 'error', msg: 'kaput', context: 'Ctx' });
    expect((b!.err as { stack: string }).stack).toContain('kaput');
  });

  it('adds the request id (and an app start id) of the message being handled to its lines, and nothing outside one', () => {
    const { logger, records } = capture();
    logger.log('outside', 'X');
    runWithContext({ reqId: 'req-abc' }, () => {
      logger.log('inside', 'X');
      runWithContext({ reqId: 'req-abc', startId: 'start-9' }, () => logger.log('in a start', 'X'));
    });
    logger.log('after', 'X');
    const [outside, inside, start, after] = records();
    expect(outside).not.toHaveProperty('reqId');
    expect(inside).toMatchObject({ msg: 'inside', reqId: 'req-abc' });
    expect(inside).not.toHaveProperty('startId');
    expect(start).toMatchObject({ msg: 'in a start', reqId: 'req-abc', startId: 'start-9' });
    expect(after).not.toHaveProperty('reqId');
  });

  it("keeps a line's own reqId and startId fields (long work names its request explicitly)", () => {
    const { logger, records } = capture();
    logger.log({ msg: 'started', reqId: 'req-1', startId: 'start-1' }, 'X');
    expect(records()[0]).toMatchObject({ msg: 'started', reqId: 'req-1', startId: 'start-1' });
  });

  it('serves Nest Logger instances once installed', () => {
    const { logger, records } = capture();
    Logger.overrideLogger(logger);
    new Logger('Bound').log({ msg: 'via Nest', code: 1006 });
    expect(records()[0]).toMatchObject({ context: 'Bound', msg: 'via Nest', code: 1006 });
  });
});
