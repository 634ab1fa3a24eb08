import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { CloudError, type ErrorCode } from './cloud-error.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  APP_NOT_FOUND: HttpStatus.NOT_FOUND,
  USER_NOT_FOUND: HttpStatus.NOT_FOUND,
  SESSION_NOT_FOUND: HttpStatus.NOT_FOUND,
  STREAM_NOT_FOUND: HttpStatus.NOT_FOUND,
  TOOL_NOT_FOUND: HttpStatus.NOT_FOUND,
  INCIDENT_NOT_FOUND: HttpStatus.NOT_FOUND,
  TOOL_CALL_FAILED: HttpStatus.BAD_GATEWAY, // the app's /tool failed or did not answer
  APP_NOT_RUNNING: HttpStatus.CONFLICT,
  CONFLICT: HttpStatus.CONFLICT,
  START_FAILED: HttpStatus.BAD_GATEWAY,
  HARDWARE_INCOMPATIBLE: HttpStatus.CONFLICT,
  GLASSES_NOT_CONNECTED: HttpStatus.CONFLICT,
  PERMISSION_DENIED: HttpStatus.FORBIDDEN,
  INVALID_API_KEY: HttpStatus.UNAUTHORIZED,
  INVALID_TOKEN: HttpStatus.UNAUTHORIZED,
  MALFORMED_MESSAGE: HttpStatus.BAD_REQUEST,
  MESSAGE_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  LIMIT_EXCEEDED: HttpStatus.TOO_MANY_REQUESTS, // a cap on what one user or session may hold at once
  UNSUPPORTED: HttpStatus.CONFLICT, // a feature this cloud's configuration turns off
  TOKEN_EXPIRED: HttpStatus.UNAUTHORIZED,
  NOT_CONFIGURED: HttpStatus.NOT_IMPLEMENTED, // a route that needs settings this cloud was started without
  PROVIDER_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE, // an upstream identity provider did not answer
  STORE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE, // the shared store (Redis) did not answer
  CLUSTER_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE, // cluster mode: Redis does not answer
  OWNER_UNREACHABLE: HttpStatus.GATEWAY_TIMEOUT, // cluster mode: the process owning the user did not answer
};

/** A failed start: what went wrong decides the status, the stage stays in `details`. */
const START_STAGE_STATUS: Record<string, number> = {
  LOOKUP: HttpStatus.NOT_FOUND, // the app does not exist or is not installed for the user
  HARDWARE_CHECK: HttpStatus.CONFLICT,
  LIMIT: HttpStatus.CONFLICT, // MAX_APPS_PER_USER apps already running or starting
  CANCELLED: HttpStatus.CONFLICT,
  SESSION_ENDED: HttpStatus.CONFLICT,
  WEBHOOK: HttpStatus.BAD_GATEWAY,
  INIT_REFUSED: HttpStatus.BAD_GATEWAY, // the app connected but its init was refused (wrong API key, session id…)
  TIMEOUT: HttpStatus.GATEWAY_TIMEOUT,
};

function statusOf(error: CloudError): number {
  const stage = error.details?.stage;
  if (error.code === 'START_FAILED' && typeof stage === 'string' && START_STAGE_STATUS[stage])
    return START_STAGE_STATUS[stage];
  return STATUS[error.code] ?? HttpStatus.BAD_REQUEST;
}

/** The one mapping from errors to HTTP responses: `{statusCode, code, message, details?}`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (exception instanceof CloudError) {
      const statusCode = statusOf(exception);
      res.status(statusCode).json({
        statusCode,
        code: exception.code,
        message: exception.message,
        ...(exception.details ? { details: exception.details } : {}),
      });
      return;
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const body = exception.getResponse();
      const obj = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { message: body };
      res.status(statusCode).json({
        statusCode,
        code: obj.code ?? codeFor(statusCode),
        message: obj.message ?? exception.message,
        ...(obj.details ? { details: obj.details } : {}),
        // The phone app matches `error` (503 `NO_ACTIVE_SESSION`: it reconnects its socket and retries once).
        ...(obj.error !== undefined && obj.error === obj.code ? { error: obj.error } : {}),
      });
      return;
    }
    // body-parser errors (too large, bad JSON) carry a status of their own.
    const status =
      (exception as { status?: unknown; statusCode?: unknown })?.status ??
      (exception as { statusCode?: unknown })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ statusCode: status, code: codeFor(status), message: (exception as Error).message });
      return;
    }
    this.logger.error((exception as Error)?.stack ?? String(exception));
    res.status(500).json({ statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' });
  }
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMITED';
    default:
      return 'ERROR';
  }
}
