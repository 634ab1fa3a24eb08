/**
 * An abort signal that fires when any parent aborts or after `timeoutMs`, and that lets go of everything
 * once `dispose()` runs. `AbortSignal.timeout` keeps its timer (and what it reaches) alive for the whole
 * delay after the work is done, and `AbortSignal.any` ties the result to its sources: per app start that
 * was a 40 s retry-window timer left behind, which a soak of thousands of starts shows as heap growth.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when it was the time limit (not a parent) that aborted. */
  readonly timedOut: boolean;
  dispose(): void;
}

export function deadline(timeoutMs: number, ...parents: Array<AbortSignal | undefined>): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const links: Array<[AbortSignal, () => void]> = [];
  const timer = setTimeout(
    () => {
      timedOut = true;
      controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
    },
    Math.max(1, timeoutMs),
  );
  timer.unref();
  const dispose = (): void => {
    clearTimeout(timer);
    for (const [parent, onAbort] of links.splice(0)) parent.removeEventListener('abort', onAbort);
  };
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    links.push([parent, onAbort]);
  }
  if (controller.signal.aborted) dispose();
  else controller.signal.addEventListener('abort', dispose, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
  };
}
