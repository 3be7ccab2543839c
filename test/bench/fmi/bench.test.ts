import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, perRunMax, quantile } from '../../../src/bench/fmi/stats.js';
import { benchPlan, rankBlocks } from '../../../src/bench/fmi/run-bench.js';
import { barrierAllreduceComparison, recordsCsv, sizeLabel } from '../../../src/bench/fmi/output.js';
import { defaultPolicyConfig, predict } from '../../../src/fmi/policy/index.js';
import type { BenchRecord } from '../../../src/bench/fmi/run-bench.js';
import { ExitCode } from '../../../src/errors.js';

function cai(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 240_000 });
}

describe('bench statistics and plan', () => {
  test('nearest-rank quantiles, medians and the slowest rank per run', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    assert.equal(quantile(xs, 0.95), 10);
    assert.equal(quantile(xs, 0.5), 5);
    assert.equal(quantile([3], 0.95), 3);
    assert.equal(median(xs), 5.5);
    assert.equal(median([4, 1, 3]), 3);
    assert.deepEqual(perRunMax([[1, 5, 2], [3, 1, 2], [2, 2, 7]]), [3, 5, 7]);
  });

  test('ranks are split into contiguous, nearly equal blocks', () => {
    assert.deepEqual(rankBlocks(3, 8), [[0, 1], [1, 2], [2, 3]]);
    assert.deepEqual(rankBlocks(7, 2), [[0, 3], [3, 7]]);
    const blocks = rankBlocks(200, 4);
    assert.deepEqual(blocks.map(([a, b]) => b - a), [50, 50, 50, 50]);
    assert.equal(blocks[3]![1], 200);
  });

  test('barrier is measured once, other operations once per size', () => {
    assert.deepEqual(benchPlan(['barrier', 'bcast'], [8, 1024]), [
      { op: 'barrier', bytes: 0 },
      { op: 'bcast', bytes: 8 },
      { op: 'bcast', bytes: 1024 },
    ]);
    assert.equal(sizeLabel(1048576), '1 MiB');
    assert.equal(sizeLabel(1024), '1 KiB');
    assert.equal(sizeLabel(1000), '1000 B');
  });

  test('the comparison sums the barrier and 8-byte allreduce medians and adds the model and FMI figures', () => {
    const rec = (op: 'barrier' | 'allreduce', n: number, bytes: number, median_ms: number): BenchRecord => ({ channel: 'redis', op, world_size: n, bytes, median_ms, p95_ms: median_ms, runs: 3 });
    const records = [rec('barrier', 3, 0, 1.5), rec('allreduce', 3, 8, 2.25), rec('allreduce', 3, 1024, 9), rec('barrier', 5, 0, 1)];
    const cfg = defaultPolicyConfig();
    const rows = barrierAllreduceComparison(records, 'redis', cfg);
    assert.equal(rows.length, 1, 'world 5 has no 8-byte allreduce');
    assert.equal(rows[0]!.measured_ms, 3.75);
    assert.equal(rows[0]!.fmi_aws_ms, 11.2);
    const model = predict(cfg, 'redis', 'barrier', 0, 3).latencyMs + predict(cfg, 'redis', 'allreduce', 8, 3).latencyMs;
    assert.equal(rows[0]!.model_one_cpu_per_rank_ms, Math.round(model * 1000) / 1000);
    assert.equal(recordsCsv(records).split('\n')[1], 'redis,barrier,3,0,1.5,1.5,3');
  });
});

describe('cai fmi bench', () => {
  test('redis: ranks in worker processes, JSON records, CSV, summary and plot files', () => {
    const out = mkdtempSync(join(tmpdir(), 'cai-fmi-bench-'));
    try {
      const r = cai(['fmi', 'bench', '--channel', 'redis', '--world-sizes', '2,3', '--ops', 'barrier,allreduce,gather', '--bytes', '8,1024', '--runs', '3', '--warmup', '1', '--max-procs', '3', '--out', out, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const records = JSON.parse(r.stdout) as BenchRecord[];
      // Per world: barrier once, allreduce and gather at two sizes.
      assert.equal(records.length, 2 * 5);
      for (const rec of records) {
        assert.deepEqual(Object.keys(rec).sort(), ['bytes', 'channel', 'median_ms', 'op', 'p95_ms', 'runs', 'world_size']);
        assert.equal(rec.channel, 'redis');
        assert.equal(rec.runs, 3);
        assert.ok(rec.median_ms > 0 && rec.median_ms <= rec.p95_ms, JSON.stringify(rec));
      }
      assert.deepEqual([...new Set(records.map((x) => x.world_size))], [2, 3]);
      assert.deepEqual(records.filter((x) => x.world_size === 3).map((x) => `${x.op}:${x.bytes}`), ['barrier:0', 'allreduce:8', 'allreduce:1024', 'gather:8', 'gather:1024']);

      const csv = readFileSync(join(out, 'fmi-bench-redis.csv'), 'utf8').trim().split('\n');
      assert.equal(csv[0], 'channel,op,world_size,bytes,median_ms,p95_ms,runs');
      assert.equal(csv.length, 1 + records.length);
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'fmi-bench-redis.json'), 'utf8')), records);
      const summary = JSON.parse(readFileSync(join(out, 'fmi-bench-redis-summary.json'), 'utf8'));
      assert.deepEqual(summary.environment.processes, { '2': 2, '3': 3 });
      assert.equal(summary.barrier_allreduce_8b.length, 2);
      const at3 = summary.barrier_allreduce_8b.find((x: { world_size: number }) => x.world_size === 3);
      const barrier3 = records.find((x) => x.world_size === 3 && x.op === 'barrier')!;
      const allreduce3 = records.find((x) => x.world_size === 3 && x.op === 'allreduce' && x.bytes === 8)!;
      assert.equal(at3.measured_ms, Math.round((barrier3.median_ms + allreduce3.median_ms) * 1000) / 1000);
      assert.equal(at3.fmi_aws_ms, 11.2);
      const svg = readFileSync(join(out, 'fmi-bench-redis.svg'), 'utf8');
      assert.match(svg, /^<svg[\s\S]*allreduce 1 KiB[\s\S]*<\/svg>\s*$/);
      const png = readFileSync(join(out, 'fmi-bench-redis.png'));
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('tcp and s3 run too; the human report shows the FMI comparison', () => {
    const tcp = cai(['fmi', 'bench', '--channel', 'tcp', '--world-sizes', '3', '--ops', 'barrier,allreduce', '--bytes', '8', '--runs', '3', '--warmup', '1']);
    assert.equal(tcp.status, 0, tcp.stderr);
    assert.match(tcp.stdout, /^FMI tcp channel/);
    assert.match(tcp.stdout, /barrier then 8-byte allreduce[\s\S]*\n3 +\d+\.\d{3} +\d+\.\d{3} +11\.2\n/);
    const s3 = cai(['fmi', 'bench', '--channel', 's3', '--world-sizes', '2', '--ops', 'bcast', '--bytes', '1024', '--runs', '2', '--warmup', '0', '--json']);
    assert.equal(s3.status, 0, s3.stderr);
    const [rec] = JSON.parse(s3.stdout) as BenchRecord[];
    assert.equal(rec!.channel, 's3');
    assert.equal(rec!.op, 'bcast');
    assert.equal(rec!.bytes, 1024);
  });

  test('an unreachable Redis is reported on one line with the unavailable exit code', () => {
    const r = cai(['fmi', 'bench', '--channel', 'redis', '--redis-url', 'redis://127.0.0.1:1', '--world-sizes', '2', '--ops', 'barrier', '--runs', '1']);
    assert.equal(r.status, ExitCode.unavailable, r.stderr);
    assert.match(r.stderr, /^cai: redis 127\.0\.0\.1:1: cannot connect: .*\n$/);
  });

  test('bad flags are usage errors', () => {
    const r = cai(['fmi', 'bench', '--ops', 'barrier,alltoall']);
    assert.equal(r.status, ExitCode.usage);
    assert.match(r.stderr, /unknown operation "alltoall"/);
    const w = cai(['fmi', 'bench', '--world-sizes', '2,x']);
    assert.equal(w.status, ExitCode.usage);
  });
});

describe('cai fmi explain', () => {
  test('prints the predictions and the choice', () => {
    const r = cai(['fmi', 'explain', '--op', 'allreduce', '--bytes', '8', '--world-size', '200', '--hint', 'cheap', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    assert.equal(e.choice, 'tcp');
    assert.deepEqual(e.predictions.map((p: { channel: string }) => p.channel), ['tcp', 'redis', 's3']);
    const human = cai(['fmi', 'explain', '--op', 'barrier', '--world-size', '8']);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /choice: tcp/);
  });
});
