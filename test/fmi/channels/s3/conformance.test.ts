import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { startS3, type S3Fixture } from '../../../support/s3rver.js';
import { openS3Channel, s3RunPrefix } from '../../../../src/fmi/channels/s3/index.js';
import { DEFAULT_MAX_FRAME_BYTES, type Channel } from '../../../../src/fmi/channel.js';
import { runChannelConformance } from '../conformance.js';

let s3: S3Fixture;
let worlds = 0;
const runOf = new WeakMap<Channel, string>();
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
});

runChannelConformance(
  's3',
  async (n) => {
    const runId = `conf${++worlds}`;
    const channels = await Promise.all(
      Array.from({ length: n }, (_, rank) =>
        openS3Channel(
          { communicator: 'conformance', runId, rank, worldSize: n, secret: 'conformance-secret-0123456789', maxFrameBytes: DEFAULT_MAX_FRAME_BYTES },
          { client: s3.client, bucket: s3.bucket, pollMaxMs: 20 },
        ),
      ),
    );
    for (const c of channels) runOf.set(c, runId);
    return channels;
  },
  {
    maxWorldSize: 6,
    numRuns: 4,
    maxOps: 4,
    // Every S3 hop is a poll (with backoff) over HTTP to a server in this process: leave the blame exchange time.
    deadlineTimeoutMs: 4000,
    timeoutMs: 30_000,
    teardown: async (channels) => {
      await Promise.all(channels.map((c) => c.close()));
      const listed = await s3.client.send(new ListObjectsCommand({ Bucket: s3.bucket, Prefix: s3RunPrefix('', 'conformance', runOf.get(channels[0]!)!) }));
      assert.deepEqual((listed.Contents ?? []).map((o) => o.Key), [], 'objects left after close');
    },
  },
);
