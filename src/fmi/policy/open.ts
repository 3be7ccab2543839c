// Opening a channel from the channel configuration: endpoints, timeouts and credentials come from the
// file (the Redis password from the environment variable it names), so callers need only the kind. The
// channel's backend reads its own section (channels/<kind>/index.ts).
import { UsageError } from '../../errors.js';
import type { Channel, ChannelConfig } from '../channel.js';
import { channelBackend } from '../channels/index.js';
import type { PolicyChannel, PolicyConfig } from './config.js';

export interface OpenConfiguredOptions {
  /** Where secrets named in the configuration are looked up. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Endpoint fields over the configuration's, from this process: e.g. `{ client }`, an S3 client several ranks share. */
  endpoint?: Record<string, unknown>;
}

/** Open `kind` for one rank as the configuration describes it. Refuses a channel the configuration disables. */
export async function openConfiguredChannel(kind: PolicyChannel, config: ChannelConfig, policy: PolicyConfig, options: OpenConfiguredOptions = {}): Promise<Channel> {
  const c = policy.channels[kind];
  if (!c.enabled) throw new UsageError(`the ${kind} channel is disabled in the channel configuration`);
  const backend = await channelBackend(kind);
  const endpoint = { ...(backend.configuredEndpoint(policy, options.env ?? process.env) as object), ...options.endpoint };
  const [channel] = await backend.open([config], endpoint, { deadline: Date.now() + c.timeouts.connect_ms });
  return channel!;
}

/** The configured per-operation time limit for a channel: pass it as the communicator's `timeoutMs`. */
export function operationTimeoutMs(policy: PolicyConfig, kind: PolicyChannel): number {
  return policy.channels[kind].timeouts.operation_ms;
}
