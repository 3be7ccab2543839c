// The Redis channel as a backend: frames are list pushes on a Redis server the run is given (or, for
// benchmarks and tests, a private redis-server on loopback). A run's keys are removed when it ends.
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { ChannelConfig } from '../../channel.js';
import type { PolicyConfig } from '../../policy/config.js';
import { UsageError } from '../../../errors.js';
import { keepAllOrNone, parseEndpointWith, sharedRelease, type ChannelBackend, type OpenOptions, type RunServices, type ServiceRequest } from '../backend.js';
import { connectRedis, deleteRedisRun, describeRedisUrl, openRedisChannel, type RedisChannel } from './channel.js';
import { startRedisServer } from './local-server.js';

export { openRedisChannel, RedisChannel, deleteRedisRun, redisMessageKey, redisPresenceKey, redisAliveChannel, redisRunPrefix, connectRedis, describeRedisUrl, scanKeys, DEFAULT_KEY_TTL_MS } from './channel.js';
export type { RedisChannelOptions } from './channel.js';
export { startRedisServer } from './local-server.js';
export type { LocalRedis } from './local-server.js';

export interface RedisEndpoint {
  /** redis://[[user]:password@]host:port[/db] */
  url: string;
  /** AUTH password (overrides one in the URL); a secret, never printed. */
  password?: string;
  username?: string;
  /** Lifetime of every key of the run (refreshed while it is used). */
  keyTtlMs?: number;
  /** Ranks of one process share one command connection (each keeps its own blocking one). */
  sharedCommands?: boolean;
}

const endpointSchema = z
  .object({
    url: z.string().min(1).max(2048),
    password: z.string().max(4096).optional(),
    username: z.string().max(1024).optional(),
    keyTtlMs: z.number().int().positive().optional(),
    sharedCommands: z.boolean().optional(),
  })
  .strict();
const settingsSchema = endpointSchema.partial();

async function commandConnection(endpoint: RedisEndpoint, configs: readonly ChannelConfig[], connectTimeoutMs: number): Promise<{ conn?: Redis; releases: ((() => void) | undefined)[] }> {
  if (!endpoint.sharedCommands || configs.length === 0) return { releases: [] };
  const conn = await connectRedis({ ...endpoint, connectTimeoutMs }, `fmi-${configs[0]!.communicator}-commands-${process.pid}`);
  return { conn, releases: sharedRelease(configs.length, () => conn.disconnect()) };
}

export const backend: ChannelBackend<RedisEndpoint> = {
  kind: 'redis',

  parseEndpoint(value: unknown, where: string): RedisEndpoint {
    return parseEndpointWith(endpointSchema, value, where);
  },

  configuredEndpoint(policy: PolicyConfig, env: NodeJS.ProcessEnv): RedisEndpoint {
    const r = policy.channels.redis;
    const url = r.endpoints[0];
    if (!url) throw new UsageError('channel configuration: channels.redis.endpoints needs a redis:// URL');
    let password: string | undefined;
    if (r.password_env) {
      password = env[r.password_env];
      if (!password) throw new UsageError(`environment variable ${r.password_env} (channels.redis.password_env) is not set or empty`);
    }
    return { url, keyTtlMs: r.key_ttl_ms, ...(password !== undefined ? { password } : {}) };
  },

  async open(configs: readonly ChannelConfig[], endpoint: RedisEndpoint, options: OpenOptions): Promise<RedisChannel[]> {
    const connectTimeoutMs = Math.max(1, options.deadline - Date.now());
    const shared = await commandConnection(endpoint, configs, connectTimeoutMs);
    const settled = await Promise.allSettled(
      configs.map((config, i) =>
        openRedisChannel(config, { ...endpoint, connectTimeoutMs, ...(shared.conn ? { commandConnection: shared.conn, releaseCommandConnection: shared.releases[i] } : {}) }).then((ch) => {
          options.onJoined?.(config.rank);
          return ch;
        }),
      ),
    );
    // A rank that failed to open never takes its share; release it so the shared connection can close.
    settled.forEach((s, i) => s.status === 'rejected' && shared.releases[i]?.());
    return keepAllOrNone(settled, options.signal);
  },

  async startServices(request: ServiceRequest): Promise<RunServices<RedisEndpoint>> {
    const given = parseEndpointWith(settingsSchema, request.settings ?? {}, 'redis channel settings');
    let server: { url: string; describe: string; stop(): Promise<void> } | undefined;
    if (given.url) {
      // Fail now, naming host and port, rather than in every rank later.
      (await connectRedis({ ...given, url: given.url }, 'fmi-check')).disconnect();
    } else {
      if (!request.local) throw new UsageError('the redis channel needs a Redis server, and none was given');
      server = await startRedisServer();
    }
    const endpoint: RedisEndpoint = { ...given, url: server?.url ?? given.url! };
    return {
      endpoint,
      describe: server?.describe ?? describeRedisUrl(endpoint.url),
      async removeRun(communicator, runId) {
        const conn = await connectRedis(endpoint, 'fmi-cleanup').catch(() => undefined);
        if (!conn) return;
        try {
          await deleteRedisRun(conn, communicator, runId);
        } catch {
          // Keys expire on their own.
        } finally {
          conn.disconnect();
        }
      },
      stop: async () => server?.stop(),
    };
  },
};
