// The project's error types. Every error a user can cause carries a one-line message that names the file
// (or thing) and the problem, and maps to a documented process exit code.

/** Process exit codes of the `cai` command. */
export const ExitCode = {
  ok: 0,
  /** A bug or an unexpected environment failure. */
  internal: 1,
  /** Bad flags or arguments (commander uses 1 by default; we map usage errors here). */
  usage: 2,
  /** Bad input data: corrupt, truncated, wrong shape, checksum mismatch, non-finite values, unsafe path. */
  data: 3,
  /** A missing or incompatible model. */
  model: 4,
  /** A run finished, but some ranks failed (partial results were written). */
  partial: 5,
  /** A deadline passed (FMI operation, rank timeout). */
  timeout: 6,
  /**
   * A required external service, tool or resource is unavailable: redis-server, an S3 endpoint, chromium, a
   * results location that cannot be written (full, read-only) or a run another coordinator holds.
   */
  unavailable: 7,
  /** Stopped by SIGINT (128 + 2, as shells report it); the run is left resumable. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15). */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CaiError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.internal, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flags or configuration. */
export class UsageError extends CaiError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Control characters (newlines included) that text quoted from a hostile file may carry, shown as spaces. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f]+/g;

/** A data file (partition, manifest, imported file) is unusable. `file` is named in the message. */
export class DataError extends CaiError {
  readonly file: string;
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`.replace(CONTROL_CHARS, ' '), ExitCode.data, options);
    this.file = file;
  }
}

/** A model file is missing, unreadable or does not fit the expected inputs/outputs. */
export class ModelError extends CaiError {
  readonly file: string;
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`.replace(CONTROL_CHARS, ' '), ExitCode.model, options);
    this.file = file;
  }
}

/** An operation passed its deadline; `waitingFor` names what it was waiting on. */
export class DeadlineError extends CaiError {
  readonly waitingFor: readonly (string | number)[];
  constructor(what: string, waitingFor: readonly (string | number)[]) {
    super(`${what}: deadline passed while waiting for ${waitingFor.length ? waitingFor.join(', ') : 'nothing'}`, ExitCode.timeout);
    this.waitingFor = waitingFor;
  }
}

/** A service or tool the command needs is not there. */
export class UnavailableError extends CaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.unavailable, options);
  }
}

/**
 * A write that the file system refused for a reason a retry cannot fix until someone acts: no space left, a
 * read-only file system, no permission. `path` is the file that was being written, `code` the errno name.
 */
export class StorageWriteError extends CaiError {
  readonly path: string;
  readonly code: string;
  constructor(path: string, code: string, problem: string, options?: { cause?: unknown }) {
    super(`${path}: ${problem} (${code})`, ExitCode.unavailable, options);
    this.path = path;
    this.code = code;
  }
}

/** The signals a coordinator stops on, and the exit status each gives. */
export const STOP_SIGNALS = { SIGINT: ExitCode.interrupted, SIGTERM: ExitCode.terminated } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Work stopped by a signal; its exit code is the shell's 128 + the signal's number. */
export class InterruptedError extends CaiError {
  readonly signal: StopSignal;
  constructor(signal: StopSignal, message: string) {
    super(message, STOP_SIGNALS[signal]);
    this.signal = signal;
  }
}

/** One line for the terminal: no stack, no secrets, no newlines. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CaiError ? err.exitCode : ExitCode.internal;
}
