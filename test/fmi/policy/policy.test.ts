import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  binomialItemsMoved,
  ChannelPolicy,
  defaultPolicyConfig,
  explain,
  loadPolicyConfig,
  parsePolicyConfig,
  pollSchedule,
  predict,
  traffic,
  type PolicyConfig,
} from '../../../src/fmi/policy/index.js';
import { DataError, UsageError } from '../../../src/errors.js';

/** A configuration with round numbers, so expectations can be worked out by hand. */
function roundConfig(): PolicyConfig {
  return parsePolicyConfig(
    {
      channels: {
        tcp: { enabled: true },
        redis: { enabled: true },
        s3: { enabled: true, bucket: 'b-test', poll_initial_ms: 4, poll_max_ms: 8 },
      },
      model: {
        function: { gib_second_price_usd: 0.00001, memory_gib: 1 },
        tcp: { latency_ms: 1, bandwidth_mb_s: 100, cpu_message_us: 0 },
        redis: { latency_ms: 0.5, bandwidth_mb_s: 100, server_message_us: 1000, cpu_message_us: 0, hour_price_usd: 3.6, ops_per_hour: 3600 },
        s3: { latency_ms: 10, bandwidth_mb_s: 50, cpu_message_us: 0, put_price_usd: 0.001, get_price_usd: 0.0001 },
      },
    },
    'round.json',
  );
}

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);

describe('channel model', () => {
  test('S3 poll schedule: polls at 0, 2, 6, 14, 30, 62 ms cover a 40.4 ms wait with 6 GETs', () => {
    const s = pollSchedule(40.4, 2, 100);
    assert.equal(s.polls, 6);
    close(s.overshootMs, 21.6, 'overshoot');
    assert.deepEqual(pollSchedule(0, 2, 100), { polls: 1, overshootMs: 0 });
    // Capped intervals: 0, 4, 12 (4+8), 20 -> a 13 ms wait needs 4 polls.
    const capped = pollSchedule(13, 4, 8);
    assert.equal(capped.polls, 4);
    close(capped.overshootMs, 7, 'capped overshoot');
  });

  test('binomial gather moves each item once per level it climbs', () => {
    assert.equal(binomialItemsMoved(1), 0);
    assert.equal(binomialItemsMoved(4), 1 + 2 + 1);
    assert.equal(binomialItemsMoved(5), 1 + 2 + 1 + 1);
    assert.equal(binomialItemsMoved(8), 1 + 2 + 1 + 4 + 1 + 2 + 1);
  });

  test('traffic of common algorithms', () => {
    assert.deepEqual(traffic('bcast', 'binomial', 8, 1000), { algorithm: 'binomial', rounds: 3, messages: 7, criticalBytes: 3000, totalBytes: 7000 });
    assert.deepEqual(traffic('barrier', 'dissemination', 5, 1000), { algorithm: 'dissemination', rounds: 3, messages: 15, criticalBytes: 0, totalBytes: 0 });
    assert.deepEqual(traffic('gather', 'binomial', 4, 10), { algorithm: 'binomial', rounds: 2, messages: 3, criticalBytes: 30, totalBytes: 40 });
    assert.deepEqual(traffic('allreduce', 'recursive-doubling', 4, 8), { algorithm: 'recursive-doubling', rounds: 2, messages: 8, criticalBytes: 16, totalBytes: 64 });
    assert.deepEqual(traffic('send', 'direct', 2, 5), { algorithm: 'direct', rounds: 1, messages: 1, criticalBytes: 5, totalBytes: 5 });
  });

  test('tcp allreduce of 1 MB over 4 ranks: 2 rounds of 1 ms plus 2 MB at 100 MB/s', () => {
    const p = predict(roundConfig(), 'tcp', 'allreduce', 1_000_000, 4);
    assert.equal(p.algorithm, 'recursive-doubling');
    assert.equal(p.rounds, 2);
    assert.equal(p.messages, 8);
    close(p.latencyMs, 2 * 1 + 2_000_000 / (100 * 1000), 'latency'); // 22 ms
    assert.equal(p.channelCostUsd, 0);
    close(p.functionCostUsd, 0.022 * 4 * 1 * 0.00001, 'function cost');
    assert.equal(p.bound, 'network');
  });

  test('redis barrier over 8 ranks is bounded by the single-threaded server', () => {
    const p = predict(roundConfig(), 'redis', 'barrier', 0, 8);
    assert.equal(p.algorithm, 'dissemination');
    assert.equal(p.messages, 24);
    // network 3 rounds x 0.5 ms = 1.5 ms; server 24 messages x 1 ms = 24 ms.
    close(p.latencyMs, 24, 'latency');
    assert.equal(p.bound, 'server');
    close(p.channelCostUsd, 3.6 / 3600, 'channel cost');
    close(p.functionCostUsd, 0.024 * 8 * 0.00001, 'function cost');
  });

  test('s3 send pays one PUT and one GET per poll, and waits for the poll after the frame lands', () => {
    const p = predict(roundConfig(), 's3', 'send', 0, 2);
    // Polls at 0, 4, 12 ms; the frame lands at 10 ms: 3 GETs, 2 ms overshoot.
    assert.equal(p.readsPerMessage, 3);
    close(p.latencyMs, 12, 'latency');
    close(p.channelCostUsd, 0.001 + 3 * 0.0001, 'channel cost');
    close(p.totalCostUsd, 0.0013 + 0.012 * 2 * 0.00001, 'total');
  });

  test('more ranks per core make per-message CPU time count', () => {
    const cfg = roundConfig();
    cfg.model.tcp.cpu_message_us = 100;
    const own = predict(cfg, 'tcp', 'barrier', 0, 16, { ranksPerCore: 1 });
    const shared = predict(cfg, 'tcp', 'barrier', 0, 16, { ranksPerCore: 8 });
    // One core per rank: 4 rounds x (1 ms + 0.1 ms). Two cores for 16 ranks: 64 messages / 2 cores x 0.1 ms.
    close(own.latencyMs, 4 * 1 + 4 * 0.1, 'own cores');
    close(shared.latencyMs, 4 * 1 + 32 * 0.1, 'shared cores');
  });
});

describe('channel policy', () => {
  test('fast and cheap can choose differently (defaults, direct TCP disabled)', () => {
    const cfg = defaultPolicyConfig();
    cfg.channels.tcp.enabled = false;
    const policy = new ChannelPolicy(cfg);
    const fast = policy.explain('send', 8, 2, 'fast');
    const cheap = policy.explain('send', 8, 2, 'cheap');
    assert.equal(fast.choice, 'redis');
    assert.equal(cheap.choice, 's3');
    // By hand, defaults: redis 5.2 ms + 8 B at 100 MB/s + 1 message x 30 us CPU; cost 0.016 USD/h / 1000 ops
    // + latency x 2 ranks x 2 GiB x 0.0000166667 USD/GiB-s.
    const redis = fast.predictions.find((p) => p.channel === 'redis')!;
    const redisMs = 5.2 + 8 / 100_000 + 0.03;
    close(redis.latencyMs, redisMs, 'redis latency');
    close(redis.totalCostUsd, 0.016 / 1000 + (redisMs / 1000) * 2 * 2 * 0.0000166667, 'redis cost');
    // s3: 40.4 ms lands between polls at 30 and 62 ms: 62 ms + 8 B at 50 MB/s + 0.3 ms CPU; 1 PUT + 6 GETs.
    const s3 = cheap.predictions.find((p) => p.channel === 's3')!;
    const s3Ms = 62 + 8 / 50_000 + 0.3;
    close(s3.latencyMs, s3Ms, 's3 latency');
    close(s3.totalCostUsd, 0.005 / 1000 + 6 * (0.0004 / 1000) + (s3Ms / 1000) * 2 * 2 * 0.0000166667, 's3 cost');
    assert.match(fast.reasons[0]!, /^hint fast: redis has the lowest predicted latency \(5\.23 ms vs s3 62\.30 ms\)/);
    assert.match(cheap.reasons[0]!, /^hint cheap: s3 has the lowest predicted total cost/);
    assert.ok(fast.reasons.includes('tcp is disabled in the channel configuration'));
    assert.equal(fast.predictions.length, 3);
  });

  test('with direct TCP enabled (free and fastest) both hints choose it', () => {
    for (const hint of ['fast', 'cheap'] as const) assert.equal(explain('allreduce', 8, 200, hint).choice, 'tcp');
  });

  test('the debug log prints the explanation when CAI_DEBUG includes fmi', () => {
    const lines: string[] = [];
    const write = process.stderr.write;
    const saved = process.env.CAI_DEBUG;
    process.env.CAI_DEBUG = 'storage,fmi';
    process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      explain('barrier', 0, 4, 'fast');
      process.env.CAI_DEBUG = 'storage';
      explain('barrier', 0, 4, 'fast');
    } finally {
      process.stderr.write = write;
      if (saved === undefined) delete process.env.CAI_DEBUG;
      else process.env.CAI_DEBUG = saved;
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^fmi policy: barrier 0 B x 4 ranks, hint fast -> tcp \(tcp dissemination .*; redis .*; s3 .*\); hint fast: /);
  });

  test('no enabled channel, unknown hint or operation are usage errors', () => {
    const cfg = defaultPolicyConfig();
    for (const c of ['tcp', 'redis', 's3'] as const) cfg.channels[c].enabled = false;
    assert.throws(() => explain('barrier', 0, 4, 'fast', cfg), (e: unknown) => e instanceof UsageError && /no FMI channel is enabled/.test(e.message));
    assert.throws(() => explain('barrier', 0, 4, 'quick' as 'fast'), /unknown hint "quick"/);
    assert.throws(() => explain('alltoall' as 'barrier', 0, 4, 'fast'), /unknown operation "alltoall"/);
    assert.throws(() => explain('barrier', -1, 4, 'fast'), /non-negative integer/);
  });
});

describe('channel configuration', () => {
  test('defaults match the AWS price catalog', () => {
    const catalog = JSON.parse(readFileSync(new URL('../../../catalog/aws-prices.json', import.meta.url), 'utf8')).entries;
    const cfg = defaultPolicyConfig();
    close(cfg.model.s3.put_price_usd, catalog['s3.standard.put_per_thousand'].value / 1000, 'S3 PUT');
    close(cfg.model.s3.get_price_usd, catalog['s3.standard.get_per_thousand'].value / 1000, 'S3 GET');
    close(cfg.model.function.gib_second_price_usd, catalog['lambda.x86_64.gb_second'].value, 'Lambda GB-s');
    close(cfg.model.redis.hour_price_usd, catalog['elasticache.cache.t4g.micro.hour'].value, 'ElastiCache node');
    assert.equal(cfg.model.tcp.hour_price_usd + cfg.model.tcp.put_price_usd + cfg.model.tcp.gb_price_usd, 0);
  });

  test('a file is validated with a one-line error naming the file and field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cai-policy-'));
    try {
      const good = join(dir, 'good.json');
      const cfg = structuredClone(defaultPolicyConfig());
      cfg.channels.s3.enabled = false;
      cfg.model.redis.latency_ms = 1.5;
      writeFileSync(good, JSON.stringify(cfg));
      const loaded = await loadPolicyConfig(good);
      assert.equal(loaded.model.redis.latency_ms, 1.5);
      assert.equal(loaded.channels.s3.enabled, false);

      const bad = join(dir, 'bad.json');
      cfg.model.tcp.bandwidth_mb_s = -3;
      writeFileSync(bad, JSON.stringify(cfg));
      await assert.rejects(loadPolicyConfig(bad), (e: unknown) => e instanceof DataError && e.message.startsWith(`${bad}: model.tcp.bandwidth_mb_s:`) && !e.message.includes('\n'));
      writeFileSync(bad, '{ not json');
      await assert.rejects(loadPolicyConfig(bad), /not valid JSON/);
      cfg.model.tcp.bandwidth_mb_s = 400;
      writeFileSync(bad, JSON.stringify({ ...cfg, extra: 1 }));
      await assert.rejects(loadPolicyConfig(bad), /Unrecognized key/);
      await assert.rejects(loadPolicyConfig(join(dir, 'missing.json')), /missing\.json: cannot read: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
