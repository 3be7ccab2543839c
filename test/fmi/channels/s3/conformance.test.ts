import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { startS3, type S3Fixture } from '../../../support/s3rver.js';
import { deleteS3Prefix, openS3Channel, s3RunPrefix } from '../../../../src/fmi/channels/s3/index.js';
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

/**
 * Ranks `ranks` of a fresh run of a world of `n`: the others never join. `pollMaxMs` 20 keeps the random
 * programs quick. In the absent-rank case every receive waiting on the absent rank polls until the
 * deadline, against an S3 server in this very process: there it polls at most 4 times a second, so that
 * on a loaded machine the polling does not starve the ranks that must finish.
 */
async function openRanks(n: number, ranks: readonly number[], pollMaxMs = 20): Promise<Channel[]> {
  const runId = `conf${++worlds}`;
  const channels = await Promise.all(
    ranks.map((rank) =>
      openS3Channel(
        { communicator: 'conformance', runId, rank, worldSize: n, secret: 'conformance-secret-0123456789', maxFrameBytes: DEFAULT_MAX_FRAME_BYTES },
        { client: s3.client, bucket: s3.bucket, pollMaxMs },
      ),
    ),
  );
  for (const c of channels) runOf.set(c, runId);
  return channels;
}

const ABSENT_CASE_POLL_MAX_MS = 250;

const everyRank = (n: number) => Array.from({ length: n }, (_, r) => r);

runChannelConformance(
  's3',
  (n) => openRanks(n, everyRank(n)),
  {
    makeWorldWithout: (n, absent) => openRanks(n, everyRank(n).filter((r) => !absent.includes(r)), ABSENT_CASE_POLL_MAX_MS),
    maxWorldSize: 6,
    numRuns: 4,
    maxOps: 4,
    // Every S3 hop is a poll (with backoff) over HTTP to a server in this process: leave the cases time to
    // finish on the ranks that do not need the absent one, and the presence listing its fifth of the limit.
    deadlineTimeoutMs: 20_000,
    timeoutMs: 30_000,
    teardown: async (channels, absent) => {
      await Promise.all(channels.map((c) => c.close()));
      const prefix = s3RunPrefix('', 'conformance', runOf.get(channels[0]!)!);
      const listed = await s3.client.send(new ListObjectsCommand({ Bucket: s3.bucket, Prefix: prefix }));
      const left = (listed.Contents ?? []).map((o) => o.Key!);
      // Only frames addressed to a rank that never joined outlive the endpoints (the run's removal takes them).
      const toAbsent = left.filter((k) => absent.some((r) => k.startsWith(`${prefix}${r}/`)));
      assert.deepEqual(left.filter((k) => !toAbsent.includes(k)), [], 'objects left after close');
      if (toAbsent.length) await deleteS3Prefix(s3.client, s3.bucket, prefix);
    },
  },
);
