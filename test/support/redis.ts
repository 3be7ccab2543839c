// A real redis-server on a free loopback port for tests (installed by scripts/provision.mjs); the same
// launcher `cai fmi bench` uses.
import { startRedisServer } from '../../src/fmi/channels/redis/local-server.js';

export interface RedisFixture {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisFixture> {
  const service = await startRedisServer();
  return { url: service.url, port: Number(new URL(service.url).port), stop: () => service.stop() };
}
