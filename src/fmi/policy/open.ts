// Opening a channel from the channel configuration: endpoints, timeouts and credentials come from the
// file (the Redis password from the environment variable it names), so callers need only the kind.
import { S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../../errors.js';
import type { Channel, ChannelConfig } from '../channel.js';
import { openRedisChannel } from '../channels/redis/index.js';
import { openS3Channel } from '../channels/s3/index.js';
import { TcpChannel } from '../channels/tcp/channel.js';
import type { PolicyChannel, PolicyConfig } from './config.js';

export interface OpenConfiguredOptions {
  /** Where secrets named in the configuration are looked up. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** An S3 client to use instead of one built from the configuration (shared by several ranks, say). */
  s3Client?: S3Client;
}

/** "host:port" (IPv6 in brackets) to a rendezvous address. */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`${what}: "${text}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Open `kind` for one rank as the configuration describes it. Refuses a channel the configuration disables. */
export async function openConfiguredChannel(kind: PolicyChannel, config: ChannelConfig, policy: PolicyConfig, options: OpenConfiguredOptions = {}): Promise<Channel> {
  const env = options.env ?? process.env;
  const c = policy.channels[kind];
  if (!c.enabled) throw new UsageError(`the ${kind} channel is disabled in the channel configuration`);
  switch (kind) {
    case 'tcp': {
      const rdv = policy.channels.tcp.endpoints[0];
      if (!rdv) throw new UsageError('channel configuration: channels.tcp.endpoints needs the rendezvous server as host:port');
      return TcpChannel.connect(config, { rendezvous: parseHostPort(rdv, 'channels.tcp.endpoints[0]'), deadline: Date.now() + c.timeouts.connect_ms });
    }
    case 'redis': {
      const r = policy.channels.redis;
      const url = r.endpoints[0];
      if (!url) throw new UsageError('channel configuration: channels.redis.endpoints needs a redis:// URL');
      let password: string | undefined;
      if (r.password_env) {
        password = env[r.password_env];
        if (!password) throw new UsageError(`environment variable ${r.password_env} (channels.redis.password_env) is not set or empty`);
      }
      return openRedisChannel(config, { url, password, keyTtlMs: r.key_ttl_ms, connectTimeoutMs: r.timeouts.connect_ms });
    }
    case 's3': {
      const s = policy.channels.s3;
      if (!s.bucket) throw new UsageError('channel configuration: channels.s3.bucket is required');
      const endpoint = s.endpoints[0];
      const client = options.s3Client ?? new S3Client({ region: s.region, ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
      return openS3Channel(config, { client, ownsClient: !options.s3Client, bucket: s.bucket, prefix: s.prefix, pollInitialMs: s.poll_initial_ms, pollMaxMs: s.poll_max_ms });
    }
  }
}

/** The configured per-operation time limit for a channel: pass it as the communicator's `timeoutMs`. */
export function operationTimeoutMs(policy: PolicyConfig, kind: PolicyChannel): number {
  return policy.channels[kind].timeouts.operation_ms;
}
