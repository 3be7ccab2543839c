// FMI-specific errors. They extend the project's error types so the CLI maps them to the usual exit codes.
import { CaiError, DeadlineError, ExitCode } from '../errors.js';
import type { Absence } from './channel.js';

export interface DeadlineDetail {
  /** The ranks this rank itself waited on, where they differ from the ranks named (stuck behind others). */
  waitedOn?: readonly number[];
  /** Why each named rank is missing, where the channel knows it: it never joined the run, or it left. */
  absence?: ReadonlyMap<number, Absence>;
  /** The wait ended before its deadline, because the ranks named are known to be gone. */
  early?: boolean;
}

/**
 * A deadline passed, or a wait ended early because the peer is gone; `ranks` lists the peers to blame.
 * When the channel knows why (presence), the message says so for each rank and nothing that depends on
 * timing: `...: deadline passed while waiting for rank 3 (never joined)`.
 */
export class FmiDeadlineError extends DeadlineError {
  readonly ranks: readonly number[];
  /** The ranks this rank itself waited on; differs from `ranks` when those were stuck behind others. */
  readonly waitedOn: readonly number[];
  readonly absence: ReadonlyMap<number, Absence>;
  readonly early: boolean;
  constructor(what: string, ranks: readonly number[], extra: readonly string[] = [], detail: DeadlineDetail = {}) {
    const sorted = [...new Set(ranks)].sort((a, b) => a - b);
    const absence = detail.absence ?? new Map<number, Absence>();
    super(what, [...sorted.map((r) => (absence.has(r) ? `rank ${r} (${absence.get(r)})` : `rank ${r}`)), ...extra]);
    this.ranks = sorted;
    this.absence = absence;
    this.early = detail.early ?? false;
    this.waitedOn = detail.waitedOn ? [...new Set(detail.waitedOn)].sort((a, b) => a - b) : sorted;
    if (this.early) this.message = this.message.replace(`${what}: deadline passed while waiting for`, `${what}: stopped waiting for`);
    if (absence.size === 0 && this.waitedOn.join() !== sorted.join()) this.message += ` (this rank was waiting on ${this.waitedOn.map((r) => `rank ${r}`).join(', ')}, which waited on them)`;
  }

  /** Every named rank is known to be absent (never joined or left), not merely late. */
  get allAbsent(): boolean {
    return this.ranks.length > 0 && this.ranks.every((r) => this.absence.has(r));
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
