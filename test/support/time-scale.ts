// The one factor every deadline in the tests is multiplied by: CAI_TEST_TIME_SCALE, which
// scripts/run-tests.mjs sets (from --time-scale, the variable, or this machine's load). Deadlines only bound
// how long a test waits for an event; no asserted value depends on the factor.
const parsed = Number(process.env.CAI_TEST_TIME_SCALE ?? '1');

/** At least 1; a value that is not a number counts as 1. */
export const TIME_SCALE = Number.isFinite(parsed) && parsed >= 1 ? parsed : 1;

/** `ms` milliseconds of deadline, scaled. */
export function scaledMs(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}

/** `s` seconds of deadline, scaled, in seconds. */
export function scaledS(s: number): number {
  return Math.ceil(s * TIME_SCALE);
}
