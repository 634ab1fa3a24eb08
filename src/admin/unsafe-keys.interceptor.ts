import {
  BadRequestException,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';

/** Keys class-transformer drops without a word, so the ValidationPipe's whitelist never sees them. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_REPORTED = 20;
/** Deeper bodies are refused: class-transformer and the stores recurse, and a 2 MB body can nest a million levels. */
export const MAX_BODY_DEPTH = 32;

/**
 * Problems with a parsed JSON body: every unsafe own key, or nesting deeper than MAX_BODY_DEPTH
 * (iterative, so a deeply nested body cannot overflow the stack here).
 */
export function findUnsafeKeys(body: unknown): string[] {
  const found: string[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0 && found.length < MAX_REPORTED) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) {
      found.push(`${path || 'body'} nests deeper than ${MAX_BODY_DEPTH} levels`);
      break;
    }
    for (const key of Object.keys(value)) {
      const child = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      // `$…` keys are NoSQL operators: no admin body has a legitimate one.
      if (!Array.isArray(value) && (UNSAFE_KEYS.has(key) || key.startsWith('$')))
        found.push(`property ${child} should not exist`);
      stack.push({ value: (value as Record<string, unknown>)[key], path: child, depth: depth + 1 });
    }
  }
  return found;
}

/**
 * Refuses request bodies carrying `__proto__`, `constructor` or `prototype` keys at any depth, or nested
 * deeper than MAX_BODY_DEPTH (which would otherwise end in a stack overflow and a 500). Without it
 * such a key is silently dropped by class-transformer and the request succeeds, instead of the 400 every
 * other unknown property gets. Runs after the guard, so unauthenticated callers still get 401.
 */
@Injectable()
export class UnsafeKeysInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<Request>().body as unknown;
    const unsafe = findUnsafeKeys(body);
    if (unsafe.length > 0) {
      throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: unsafe });
    }
    return next.handle();
  }
}
