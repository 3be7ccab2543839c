import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_PATH, entryOf, loadCatalog, parseCatalog, priceOf, tieredCost } from '../../src/cost/catalog.js';
import { DataError, ExitCode } from '../../src/errors.js';

const REQUIRED = [
  'lambda.x86_64.gb_second',
  'lambda.arm64.gb_second',
  'lambda.requests_per_million',
  'lambda.ephemeral_storage.gb_second',
  'stepfunctions.standard.transitions_per_thousand',
  'stepfunctions.express.requests_per_million',
  'stepfunctions.express.gb_hour',
  's3.standard.get_per_thousand',
  's3.standard.put_per_thousand',
  's3.standard.list_per_thousand',
  's3.standard.gb_month',
];

test('the shipped catalog is valid, dated, and sources every price', async () => {
  const c = await loadCatalog();
  assert.equal(c.file, DEFAULT_CATALOG_PATH);
  assert.equal(c.currency, 'USD');
  assert.equal(c.region, 'us-east-1');
  assert.match(c.date, /^\d{4}-\d{2}-\d{2}$/);
  for (const id of REQUIRED) assert.ok(entryOf(c, id).source.startsWith('https://aws.amazon.com/'), id);
  const ids = Object.keys(c.entries);
  assert.ok(ids.some((id) => id.startsWith('elasticache.')), 'an ElastiCache node price');
  assert.ok(ids.some((id) => id.startsWith('ec2.c7i.')), 'an EC2 CPU node price');
  assert.ok(ids.some((id) => id.startsWith('ec2.g5.')) && ids.some((id) => id.startsWith('ec2.p4d.')), 'EC2 GPU node prices');
  assert.equal(priceOf(c, 'lambda.x86_64.gb_second', 'USD/GB-s'), 0.0000166667);
});

test('tiered prices charge each tier its own rate', async () => {
  const c = await loadCatalog();
  const e = entryOf(c, 'lambda.x86_64.gb_second');
  assert.equal(tieredCost(e, 1000), 1000 * 0.0000166667);
  const beyond = tieredCost(e, 7e9);
  assert.ok(Math.abs(beyond - (6e9 * 0.0000166667 + 1e9 * 0.000015)) < 1e-3);
});

test('a malformed catalog gives one line naming the file and the problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-catalog-'));
  try {
    const good = JSON.parse(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));
    const cases: [string, unknown, RegExp][] = [
      ['not-json.json', '{ "format": ', /not valid JSON/],
      ['negative.json', { ...good, entries: { ...good.entries, 'lambda.requests_per_million': { value: -1, unit: 'x', source: 'y' } } }, /entries\.lambda\.requests_per_million\.value/],
      ['no-source.json', { ...good, entries: { x: { value: 1, unit: 'USD/h' } } }, /entries\.x\.source: Required/],
      ['bad-date.json', { ...good, date: 'yesterday' }, /at date: date must be YYYY-MM-DD/],
      ['bad-tiers.json', { ...good, entries: { x: { value: 1, unit: 'u', source: 's', tiers: [{ upTo: null, value: 1 }, { upTo: 5, value: 2 }] } } }, /tiers\.1/],
      ['extra.json', { ...good, surprise: true }, /Unrecognized key/],
    ];
    for (const [name, content, problem] of cases) {
      const file = join(dir, name);
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      await assert.rejects(loadCatalog(file), (err: unknown) => {
        assert.ok(err instanceof DataError, name);
        assert.equal(err.exitCode, ExitCode.data);
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        assert.match(err.message, problem);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      });
    }
    await assert.rejects(loadCatalog(join(dir, 'missing.json')), /missing\.json: price catalog not found/);
    const c = parseCatalog(JSON.stringify(good), 'mem.json');
    assert.throws(() => priceOf(c, 'lambda.x86_64.gb_second', 'USD/h'), /mem\.json: entry "lambda\.x86_64\.gb_second" has unit "USD\/GB-s", expected "USD\/h"/);
    assert.throws(() => entryOf(c, 'nope'), /mem\.json: price catalog has no entry "nope"/);
    assert.throws(() => entryOf(c, 'constructor'), /no entry "constructor"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('EC2 entries describe their instances: vCPUs, memory, network, GPUs with their FP32 peak', async () => {
  const { ec2Instances } = await import('../../src/cost/catalog.js');
  const c = await loadCatalog();
  const gpus = ec2Instances(c, 'gpu');
  const cpus = ec2Instances(c, 'cpu');
  assert.deepEqual(gpus.map((i) => i.type).sort(), ['g4dn.12xlarge', 'g4dn.xlarge', 'g5.12xlarge', 'g5.xlarge', 'g6.xlarge', 'p3.2xlarge', 'p4d.24xlarge']);
  assert.deepEqual(cpus.map((i) => i.type).sort(), ['c7i.16xlarge', 'c7i.48xlarge', 'c7i.4xlarge', 'c7i.xlarge']);
  for (const i of [...gpus, ...cpus]) {
    assert.ok(i.usdPerHour > 0 && i.spec.vcpus > 0 && i.spec.networkGbps > 0, i.type);
    assert.match(i.spec.specSource, /^https:\/\/aws\.amazon\.com\/ec2\/instance-types\//, i.type);
    assert.match(i.source, /\(\d{4}-\d{2}-\d{2}\)$/, i.type);
  }
  const p4d = gpus.find((i) => i.type === 'p4d.24xlarge')!;
  assert.equal(p4d.spec.gpus, 8);
  assert.equal(p4d.spec.gpuFp32Tflops, 19.5);
  assert.match(p4d.spec.specSource, /nvidia\.com/);
  assert.equal(entryOf(c, 'ec2.g4dn.xlarge.hour').date, '2026-12-02');
  // A GPU described only in part is refused.
  const text = readFileSync(DEFAULT_CATALOG_PATH, 'utf8').replace('"gpuModel": "T4",', '');
  assert.throws(() => parseCatalog(text, 'x.json'), /x\.json: invalid price catalog at entries\.ec2\.g4dn\.xlarge\.hour\.instance: a GPU instance needs gpus, gpuModel and gpuFp32Tflops together/);
});
