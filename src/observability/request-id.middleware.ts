import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { MetricsService } from './metrics.service.js';
import { REQUEST_ID_HEADER, requestIdFrom, runWithContext } from './request-context.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * First middleware of every HTTP request: takes the caller's `x-request-id` (when it is short and plain)
 * or makes one and echoes it in the response. A route that starts longer work hands it on explicitly
 * (`@RequestId()` in common/request-id.ts), so an app start's log lines and its webhook carry it; the
 * synchronous rest of the middleware chain runs with it as the current context. One debug line per request
 * with status and time; the status class is counted for `/metrics`.
 */
export function requestIdMiddleware(
  metrics?: MetricsService,
): (req: Request, res: Response, next: NextFunction) => void {
  const logger = new Logger('HTTP');
  return (req, res, next) => {
    const reqId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, reqId);
    const started = performance.now();
    res.once('finish', () => {
      const status = res.statusCode;
      metrics?.httpRequests.inc({ status: STATUS_CLASSES[Math.floor(status / 100) - 1] ?? 'other' });
      const path = (req.originalUrl ?? req.url).split('?')[0];
      logger.debug({
        msg: `${req.method} ${path} ${status}`,
        reqId,
        method: req.method,
        path,
        status,
        ms: Math.round(performance.now() - started),
      });
    });
    runWithContext({ reqId }, () => next());
  };
}
