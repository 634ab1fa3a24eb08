import type { ErrorCode } from './cloud-error.js';

/** Why an operation was refused: a code every transport knows how to map, and a message for people. */
export interface Failure<C extends ErrorCode = ErrorCode> {
  ok: false;
  code: C;
  message: string;
}

/**
 * The outcome of a manager operation that may be refused without it being an exception (bad input, no permission,
 * glasses away). `T` is what a success carries besides `ok`; `C` narrows the codes a caller must expect.
 */
export type Result<T extends object = object, C extends ErrorCode = ErrorCode> = ({ ok: true } & T) | Failure<C>;
