import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { startS3 } from './s3rver.js';
import { startRedis } from './redis.js';

test('loopback S3 server stores and returns an object', async () => {
  const s3 = await startS3();
  try {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt', Body: 'hello' }));
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'a/b.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hello');
  } finally {
    await s3.stop();
  }
});

test('redis-server starts on loopback and answers', async () => {
  const r = await startRedis();
  const c = new Redis(r.url);
  try {
    await c.rpush('k', 'v');
    assert.equal(await c.lpop('k'), 'v');
  } finally {
    c.disconnect();
    await r.stop();
  }
});
