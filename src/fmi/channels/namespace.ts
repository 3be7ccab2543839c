// Names that become parts of Redis keys and S3 object keys. Restricting them to a plain alphabet keeps
// keys unambiguous (no ':' or '/' inside a part), glob patterns free of special characters, and S3
// listings in key order.
import { UsageError } from '../../errors.js';
import type { ChannelConfig } from '../channel.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws UsageError unless communicator and run id are safe key parts and rank/world size make sense. */
export function checkChannelConfig(kind: string, config: ChannelConfig): void {
  for (const [what, value] of [['communicator', config.communicator], ['run id', config.runId]] as const) {
    if (!NAME.test(value)) throw new UsageError(`${kind} channel: ${what} "${value.slice(0, 40)}" must be 1-128 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
  }
  if (!Number.isSafeInteger(config.worldSize) || config.worldSize < 1) throw new UsageError(`${kind} channel: world size must be a positive integer, got ${config.worldSize}`);
  if (!Number.isSafeInteger(config.rank) || config.rank < 0 || config.rank >= config.worldSize) {
    throw new UsageError(`${kind} channel: rank ${config.rank} is outside 0..${config.worldSize - 1}`);
  }
  if (!Number.isSafeInteger(config.maxFrameBytes) || config.maxFrameBytes < 0) throw new UsageError(`${kind} channel: maxFrameBytes must be a non-negative integer`);
}

/** Throws UsageError for a peer rank outside the communicator or a tag that is not an integer. */
export function checkPeer(kind: string, worldSize: number, peer: number, tag: number): void {
  if (!Number.isSafeInteger(peer) || peer < 0 || peer >= worldSize) throw new UsageError(`${kind} channel: peer rank ${peer} is outside 0..${worldSize - 1}`);
  if (!Number.isSafeInteger(tag)) throw new UsageError(`${kind} channel: tag ${tag} is not an integer`);
}
