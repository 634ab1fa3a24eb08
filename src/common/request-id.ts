import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Response } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * A route's request id, as the request-id middleware set it (the `x-request-id` of the response), for work the
 * route starts that outlives it (an app start names it on its log lines and its webhook).
 */
export const RequestId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getResponse<Response>().getHeader(REQUEST_ID_HEADER);
  return typeof value === 'string' ? value : undefined;
});
