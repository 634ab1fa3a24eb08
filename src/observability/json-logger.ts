import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { currentContext } from './request-context.js';

export type LogFormat = 'json' | 'pretty';

/** Nest's levels, most severe first, and pino's name for each. */
const NEST_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const TO_PINO: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Nest's own start-up chatter (one line per module, route and gateway) is not an event: it is logged at
 * debug, so the default level stays quiet and each line at `log` and above says something happened.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
  'WebSocketsController',
]);

export interface JsonLoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go (stdout by default); tests pass a stream to read them. */
  destination?: DestinationStream;
}

/**
 * The Nest LoggerService of the whole service: one line per event through pino, JSON (`LOG_FORMAT=json`)
 * or human-readable (`pretty`). Every line carries the Nest context and, while a socket message is handled,
 * the request id of that message (`currentContext`). A message may be an object: its fields become fields of
 * the line (`{ msg, userId, packageName, … }`), and its own `reqId` / `startId` win.
 */
export class JsonLogger implements LoggerService {
  readonly pino: Pino;

  constructor(options: JsonLoggerOptions) {
    const json = options.format === 'json';
    this.pino = pino(
      {
        level: TO_PINO[options.level],
        timestamp: pino.stdTimeFunctions.isoTime,
        // JSON lines name their level ("level":"info"); the pretty printer wants pino's numbers.
        ...(json ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
        // A fresh object each time: pino merges the line's fields into what the mixin returns.
        mixin: () => {
          const ctx = currentContext();
          return ctx === undefined
            ? {}
            : ctx.startId === undefined
              ? { reqId: ctx.reqId }
              : { reqId: ctx.reqId, startId: ctx.startId };
        },
      },
      options.destination ?? (json ? pino.destination({ dest: 1, sync: true }) : prettyStream()),
    );
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** `app.useLogger([...])` / `Logger.overrideLogger([...])`: the least severe level given wins. */
  setLogLevels(levels: LogLevel[]): void {
    const least = NEST_LEVELS.filter((l) => levels.includes(l)).pop();
    this.pino.level = least ? TO_PINO[least] : 'silent';
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    // Nest appends the Logger's context as the last string parameter.
    const context =
      params.length > 0 && typeof params[params.length - 1] === 'string'
        ? (params[params.length - 1] as string)
        : undefined;
    if (level === 'info' && context !== undefined && FRAMEWORK_CONTEXTS.has(context)) level = 'debug';
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = context === undefined ? params : params.slice(0, -1);
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    let msg: string;
    if (message instanceof Error) {
      fields.err = message;
      msg = message.message;
    } else if (message !== null && typeof message === 'object') {
      const { msg: m, message: mm, ...extra } = message as Record<string, unknown>;
      Object.assign(fields, extra);
      msg = typeof m === 'string' ? m : typeof mm === 'string' ? mm : '';
    } else {
      msg = String(message);
    }
    for (const p of rest) {
      if (p === undefined || p === null) continue;
      if (p instanceof Error) fields.err = p;
      // `logger.error(message, stack)`: Nest's convention for a stack trace.
      else if (typeof p === 'string') fields.stack = p;
      else if (typeof p === 'object') Object.assign(fields, p);
    }
    this.pino[level](fields, msg);
  }
}

function prettyStream(): DestinationStream {
  return pretty({
    colorize: process.stdout.isTTY === true,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}
