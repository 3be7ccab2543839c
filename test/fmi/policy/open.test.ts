import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis } from '../../support/redis.js';
import { startS3, S3RVER_CREDENTIALS } from '../../support/s3rver.js';
import { defaultPolicyConfig, openConfiguredChannel } from '../../../src/fmi/policy/index.js';
import { parseHostPort } from '../../../src/fmi/channels/tcp/rendezvous/protocol.js';
import { Communicator } from '../../../src/fmi/communicator.js';
import type { Channel, ChannelConfig } from '../../../src/fmi/channel.js';
import { UsageError } from '../../../src/errors.js';
import { S3Client } from '@aws-sdk/client-s3';
import { RendezvousServer } from '../../../src/fmi/channels/tcp/rendezvous/server.js';

const cfg = (rank: number, worldSize: number, runId: string): ChannelConfig => ({ communicator: 'configured', runId, rank, worldSize, secret: 'configured-secret-0123456789', maxFrameBytes: 1 << 20 });

async function allreduceOver(channels: Channel[]): Promise<number[]> {
  const comms = channels.map((c) => new Communicator(c, { timeoutMs: 20_000 }));
  try {
    return await Promise.all(comms.map((c) => c.allreduce(c.rank + 1, 'sum')));
  } finally {
    await Promise.all(channels.map((c) => c.close()));
  }
}

test('parses rendezvous addresses', () => {
  assert.deepEqual(parseHostPort('10.0.0.7:7400', 'x'), { host: '10.0.0.7', port: 7400 });
  assert.deepEqual(parseHostPort('[::1]:80', 'x'), { host: '::1', port: 80 });
  assert.throws(() => parseHostPort('host:0', 'channels.tcp.endpoints[0]'), /channels\.tcp\.endpoints\[0\]: "host:0" is not host:port/);
});

test('opens Redis from the configuration, with the password from the named environment variable', async () => {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  const password = 'pw-' + Math.random().toString(36).slice(2);
  await admin.config('SET', 'requirepass', password);
  admin.disconnect();
  try {
    const policy = defaultPolicyConfig();
    policy.channels.redis.endpoints = [redis.url];
    policy.channels.redis.password_env = 'CAI_TEST_REDIS_PASSWORD';
    await assert.rejects(openConfiguredChannel('redis', cfg(0, 3, 'r1'), policy, { env: {} }), /CAI_TEST_REDIS_PASSWORD \(channels\.redis\.password_env\) is not set/);
    const env = { CAI_TEST_REDIS_PASSWORD: password };
    const channels = await Promise.all([0, 1, 2].map((r) => openConfiguredChannel('redis', cfg(r, 3, 'r1'), policy, { env })));
    assert.deepEqual(await allreduceOver(channels), [6, 6, 6]);
    policy.channels.redis.enabled = false;
    await assert.rejects(openConfiguredChannel('redis', cfg(0, 3, 'r2'), policy, { env }), (e: unknown) => e instanceof UsageError && /redis channel is disabled/.test(e.message));
  } finally {
    await redis.stop();
  }
});

test('opens S3 from the configuration (endpoint, bucket, prefix, polling)', async () => {
  const s3 = await startS3();
  try {
    const policy = defaultPolicyConfig();
    Object.assign(policy.channels.s3, { endpoints: [s3.endpoint], bucket: s3.bucket, prefix: 'cfg/', poll_max_ms: 10 });
    // The configuration never holds S3 credentials: they come from the SDK's usual sources; here a client.
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const channels = await Promise.all([0, 1].map((r) => openConfiguredChannel('s3', cfg(r, 2, 's1'), policy, { endpoint: { client } })));
    assert.deepEqual(await allreduceOver(channels), [3, 3]);
    client.destroy();
    policy.channels.s3.bucket = undefined;
    await assert.rejects(openConfiguredChannel('s3', cfg(0, 2, 's2'), policy), /channels\.s3\.bucket is required/);
  } finally {
    await s3.stop();
  }
});

test('opens direct TCP through the rendezvous server named in the configuration', async () => {
  const server = await RendezvousServer.start({ secret: 'configured-secret-0123456789' });
  try {
    const policy = defaultPolicyConfig();
    policy.channels.tcp.endpoints = [`${server.address.host}:${server.address.port}`];
    const channels = await Promise.all([0, 1, 2, 3].map((r) => openConfiguredChannel('tcp', cfg(r, 4, 't1'), policy)));
    assert.deepEqual(await allreduceOver(channels), [10, 10, 10, 10]);
    policy.channels.tcp.endpoints = [];
    await assert.rejects(openConfiguredChannel('tcp', cfg(0, 4, 't2'), policy), /channels\.tcp\.endpoints needs the rendezvous server/);
  } finally {
    await server.close();
  }
});
