import { BadRequestException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Whether a parsed JSON value nests objects/arrays deeper than `maxDepth` (`{}` and `[]` are depth 1).
 * Iterative, so the check itself cannot overflow the stack however deep the value is.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const node = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        pending.push(child as object);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * Refuses JSON bodies nested deeper than `maxDepth` with 400 BODY_TOO_DEEP, right after the body parser and
 * before any route: validation (class-transformer) and the stores recurse, and a 2 MB body can nest a million
 * levels, which ended in a stack overflow (500). Keys are not looked at: simple storage keeps keys such as `$where`
 * literally.
 */
export function jsonDepthLimit(maxDepth: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (nestsDeeperThan(req.body, maxDepth)) {
      next(
        new BadRequestException({
          statusCode: 400,
          code: 'BODY_TOO_DEEP',
          message: `JSON bodies may nest objects and arrays at most ${maxDepth} levels deep`,
        }),
      );
      return;
    }
    next();
  };
}
