// How much of a partition is checked against its manifest entry on read: `sha256` hashes every byte,
// `size` compares only the length (the file is still decoded and its shapes checked). One list, so that
// every command and request that takes the mode accepts the same words.
import { UsageError } from '../errors.js';

export const VERIFY_MODES = ['sha256', 'size'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

/** Check a verify mode given as text; a UsageError naming `flag` otherwise. */
export function parseVerifyMode(value: string, flag = '--verify'): VerifyMode {
  if ((VERIFY_MODES as readonly string[]).includes(value)) return value as VerifyMode;
  throw new UsageError(`${flag} must be ${VERIFY_MODES.join(' or ')}, got "${value}"`);
}
