// Challenge-response authentication with the communicator's shared secret. Both sides contribute a fresh
// nonce; each side proves knowledge of the secret with HMAC-SHA256 over a role label, the communicator,
// run id, ranks and both nonces. Only the MACs cross the wire, never the secret; comparisons are constant-time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../errors.js';

export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;

export type ProofRole = 'rendezvous-client' | 'rendezvous-server' | 'peer-dialer' | 'peer-acceptor';

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** HMAC over length-prefixed fields, so no two different field lists hash the same bytes. */
export function proof(secret: string, role: ProofRole, fields: readonly (string | number | Uint8Array)[]): Buffer {
  const h = createHmac('sha256', secret);
  const put = (b: Uint8Array) => {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.length, 0);
    h.update(len);
    h.update(b);
  };
  put(Buffer.from(`fmi/v1/${role}`, 'utf8'));
  for (const f of fields) put(typeof f === 'string' ? Buffer.from(f, 'utf8') : typeof f === 'number' ? Buffer.from(String(f), 'utf8') : f);
  return h.digest();
}

export function proofMatches(expected: Uint8Array, got: Uint8Array): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/** Secrets shorter than this are refused: they could be guessed offline from one recorded handshake. */
export const MIN_SECRET_CHARS = 16;

export function checkSecret(secret: unknown, where: string): string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_CHARS) throw new UsageError(`${where}: the shared secret must be a string of at least ${MIN_SECRET_CHARS} characters`);
  return secret;
}
