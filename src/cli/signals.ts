// SIGINT and SIGTERM for commands that do long work: the first asks the work to stop in order (through an
// AbortSignal whose reason is the InterruptedError the command ends with, exit 130 or 143); a second one
// ends the process at once with the same code.
import { InterruptedError, STOP_SIGNALS, type StopSignal } from '../errors.js';

export interface SignalStop {
  readonly signal: AbortSignal;
  /** Stop listening (the command's work is over). */
  dispose(): void;
}

/** Listen for SIGINT/SIGTERM; `why` says what stopping means for this command, in one line. */
export function stopOnSignals(why: (signal: StopSignal) => string): SignalStop {
  const controller = new AbortController();
  const handlers = new Map<StopSignal, () => void>();
  for (const name of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    const handler = (): void => {
      if (controller.signal.aborted) process.exit(STOP_SIGNALS[name]);
      controller.abort(new InterruptedError(name, why(name)));
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
