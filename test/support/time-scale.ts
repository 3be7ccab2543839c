// One factor for every time limit in the tests: deadlines, timeouts and "it ended promptly" bounds are
// written for a loaded 2-core machine and multiplied by CAI_TEST_TIME_SCALE (default 1), which
// scripts/run-tests.mjs sets (from --time-scale, the variable, or this machine's load) and a slower machine
// raises (e.g. CAI_TEST_TIME_SCALE=3 npm test). Tests still wait on events, never on these times: a limit
// only says how long an event may take to come before the test fails, and no asserted value depends on it.
const raw = process.env.CAI_TEST_TIME_SCALE;
const parsed = raw === undefined || raw === '' ? 1 : Number(raw);
if (!(parsed >= 1 && parsed <= 100)) throw new Error(`CAI_TEST_TIME_SCALE must be a number from 1 to 100, got "${raw}"`);

/** The factor in force. */
export const TIME_SCALE = parsed;

/** `ms` milliseconds, scaled. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}

/** `s` seconds of deadline, scaled, in whole seconds. */
export function scaledS(s: number): number {
  return Math.ceil(s * TIME_SCALE);
}

/** An absolute deadline `ms` (scaled) from now. */
export function within(ms: number): number {
  return Date.now() + scaled(ms);
}

/**
 * Resolves once `condition()` holds, checking after every turn of the event loop's timers (a state that
 * settles through socket events has no event of its own to await); rejects after `ms` (scaled), naming `what`.
 */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = within(ms);
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${scaled(ms)} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
