// Shared CLI plumbing: JSON vs human output, progress on stderr (only on a TTY), one-line errors.
import { InvalidArgumentError } from 'commander';
import { CaiError, exitCodeOf, oneLine } from '../errors.js';

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
}

/** Print a result: pretty JSON for scripts (`--json`), or the human text. */
export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(human().replace(/\n?$/, '\n'));
}

/** A line on stderr for the person at the terminal (what is happening, where things go); none with --json. */
export function note(opts: OutputOptions, line: string): void {
  if (!opts.json) process.stderr.write(line + '\n');
}

/** A single self-overwriting status line on stderr; silent when stderr is not a TTY, or with --json/--quiet. */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly enabled: boolean;
  constructor(opts: OutputOptions = {}, private readonly minIntervalMs = 200) {
    this.enabled = Boolean(process.stderr.isTTY) && !opts.json && !opts.quiet;
  }
  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < this.minIntervalMs) return;
    this.last = now;
    const width = process.stderr.columns || 100;
    process.stderr.write('\r\x1b[2K' + text.slice(0, width - 1));
    this.shown = true;
  }
  done(): void {
    if (this.enabled && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** Wrap a command action: CaiErrors become "cai: <one line>" and their exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`cai: ${oneLine(err)}\n`);
      if (!(err instanceof CaiError) && process.env.CAI_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
      process.exitCode = exitCodeOf(err);
    }
  };
}

export function parseIntOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    // commander turns InvalidArgumentError into a usage message and exit code 2.
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`--${name} must be an integer, got "${v}"`);
    return n;
  };
}

export function parseNumberOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`--${name} must be a number, got "${v}"`);
    return n;
  };
}
