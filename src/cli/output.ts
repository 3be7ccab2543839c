// Shared CLI plumbing: JSON vs human output, progress on stderr (only on a TTY: counts, rate and ETA of
// long steps), one-line errors.
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

/** Seconds left, short: "ETA 42 s", "ETA 3m05s", "ETA 1h20m". */
export function fmtEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return 'ETA ?';
  if (s < 60) return `ETA ${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `ETA ${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `ETA ${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * "synthesizing galaxies 3,000/12,000 (25%)  410 galaxies/s  ETA 22 s": the rate is what got done in the
 * `elapsedS` since counting began, when `from` were already done.
 */
export function countLine(label: string, done: number, total: number, elapsedS: number, unit = '', from = 0): string {
  const pct = total > 0 ? ` (${Math.floor((done / total) * 100)}%)` : '';
  const rate = elapsedS > 0.2 && done > from ? (done - from) / elapsedS : 0;
  const per = rate ? `  ${rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toPrecision(2)}${unit ? ` ${unit}` : ''}/s` : '';
  const eta = done >= total ? '' : `  ${rate ? fmtEta((total - done) / rate) : 'ETA ?'}`;
  return `${label} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${pct}${per}${eta}`;
}

/**
 * A single self-overwriting status line on stderr; silent when stderr is not a TTY (a pipe, a log file), or
 * with --json/--quiet, so that scripts read only results. `count` shows counts, rate and ETA of a long step.
 */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly enabled: boolean;
  private counting: { label: string; since: number; from: number } | undefined;
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
  /** `done` of `total` things (`unit`) of the step `label`; the rate and ETA count from the step's first call. */
  count(label: string, done: number, total: number, unit = ''): void {
    const now = performance.now();
    if (this.counting?.label !== label) this.counting = { label, since: now, from: done };
    this.update(countLine(label, done, total, (now - this.counting.since) / 1000, unit, this.counting.from), done === 0 || done >= total);
  }
  done(): void {
    if (this.enabled && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
    this.counting = undefined;
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
