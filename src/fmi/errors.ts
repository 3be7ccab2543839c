// FMI-specific errors. They extend the project's error types so the CLI maps them to the usual exit codes.
import { CaiError, DeadlineError, ExitCode } from '../errors.js';

/** A deadline passed; `ranks` lists the peers this rank was still waiting for. */
export class FmiDeadlineError extends DeadlineError {
  readonly ranks: readonly number[];
  /** The ranks this rank itself waited on; differs from `ranks` when those were stuck behind others. */
  readonly waitedOn: readonly number[];
  constructor(what: string, ranks: readonly number[], extra: readonly string[] = [], waitedOn?: readonly number[]) {
    const sorted = [...new Set(ranks)].sort((a, b) => a - b);
    super(what, [...sorted.map((r) => `rank ${r}`), ...extra]);
    this.ranks = sorted;
    this.waitedOn = waitedOn ? [...new Set(waitedOn)].sort((a, b) => a - b) : sorted;
    if (this.waitedOn.join() !== sorted.join()) this.message += ` (this rank was waiting on ${this.waitedOn.map((r) => `rank ${r}`).join(', ')}, which waited on them)`;
  }
}

/** A peer or the rendezvous server refused us (wrong secret, other communicator, stale run, duplicate rank). */
export class FmiRefusedError extends CaiError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** A peer broke the wire protocol (oversize or malformed frame); the connection was closed. */
export class FmiProtocolError extends CaiError {
  constructor(message: string) {
    super(message, ExitCode.data);
  }
}
