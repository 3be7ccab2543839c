import { test } from 'node:test';
import assert from 'node:assert/strict';
import { billedMs, countStateTransitions, lambdaRunCost, memoryGBFromMB, pricesFromCatalog, STUDY_PRICES } from '../../src/cost/lambda-cost.js';
import { loadCatalog } from '../../src/cost/catalog.js';
import { fmtUsd } from '../../src/cost/format.js';

// Inputs as published for the full 12.6 GB data set (reference README): requests x duration x memory.
const PUBLISHED = [
  { partitionMB: 25, requests: 517, seconds: 6.55, memoryGB: 2.8, usd: '0.16' },
  { partitionMB: 50, requests: 259, seconds: 11.8, memoryGB: 4.0, usd: '0.20' },
  { partitionMB: 75, requests: 173, seconds: 17.6, memoryGB: 5.9, usd: '0.30' },
  { partitionMB: 100, requests: 130, seconds: 25, memoryGB: 7.0, usd: '0.38' },
];

test('reproduces the published compute cost of each partition size', () => {
  for (const p of PUBLISHED) {
    const bill = lambdaRunCost({ lambda: [{ label: 'ranks', count: p.requests, durationMs: p.seconds * 1000, memoryGB: p.memoryGB }] });
    const compute = bill.items.find((i) => i.id === 'lambda.duration.ranks');
    assert.ok(compute, 'compute item present');
    assert.equal(compute.usd.toFixed(2), p.usd, `${p.partitionMB} MB: ${compute.arithmetic}`);
    const expected = p.requests * p.seconds * p.memoryGB * 0.0000166667;
    assert.ok(Math.abs(compute.usd - expected) < 1e-12);
    assert.equal(compute.quantity, p.requests * p.seconds * p.memoryGB);
    assert.match(compute.arithmetic, new RegExp(`^${p.requests} req x ${p.seconds} s x ${p.memoryGB} GB x 0\\.0000166667 USD/GB-s = ${fmtUsd(expected).replace('.', '\\.')} USD$`));
  }
});

test('the 25 MB bill reads as the study wrote it, with requests and transitions itemised', () => {
  const bill = lambdaRunCost({
    lambda: [{ label: 'ranks', count: 517, durationMs: 6550, memoryGB: 2.8 }],
    stateMachine: { mapItems: 517 },
  });
  const byId = Object.fromEntries(bill.items.map((i) => [i.id, i]));
  assert.equal(byId['lambda.duration.ranks'].arithmetic, '517 req x 6.55 s x 2.8 GB x 0.0000166667 USD/GB-s = 0.158 USD');
  assert.equal(byId['lambda.requests'].quantity, 517);
  assert.ok(Math.abs(byId['lambda.requests'].usd - 517 * 0.2e-6) < 1e-15);
  assert.equal(byId['stepfunctions.transitions'].quantity, 521);
  assert.ok(Math.abs(byId['stepfunctions.transitions'].usd - 0.521 * 0.025) < 1e-15);
  const sum = bill.items.reduce((s, i) => s + i.usd, 0);
  assert.equal(bill.totalUsd, sum);
  assert.ok(bill.arithmetic.endsWith(`= ${fmtUsd(sum)} USD`), bill.arithmetic);
});

test('state transitions follow the documented counting rule', () => {
  assert.deepEqual(countStateTransitions({ mapItems: 10 }), {
    total: 14,
    arithmetic: '1 Initialize + 2 Map (start, end) + 10 items x 1 state + 1 Summarize = 14',
  });
  assert.equal(countStateTransitions({ mapItems: 10, statesPerItem: 3, retries: 2 }).total, 1 + 2 + 30 + 2 + 1);
  assert.equal(countStateTransitions({ mapItems: 4, initialize: false, summarize: false }).total, 6);
  assert.throws(() => countStateTransitions({ mapItems: -1 }), /mapItems must be a non-negative integer/);
});

test('per-invocation durations are billed rounded up to 1 ms each', () => {
  assert.equal(billedMs(14186.75), 14187);
  assert.equal(billedMs(6.55 * 1000), 6550);
  const bill = lambdaRunCost({ lambda: [{ label: 'ranks', durationsMs: [1000.1, 2000.0, 0.2], memoryGB: memoryGBFromMB(2048) }] });
  const c = bill.items[0];
  assert.equal(c.quantity, ((1001 + 2000 + 1) / 1000) * 2);
  assert.match(c.arithmetic, /^3 req, 3\.002 s billed in all, x 2 GB x 0\.0000166667 USD\/GB-s = /);
  assert.throws(() => lambdaRunCost({ lambda: [{ label: 'r', count: 2, durationsMs: [1], memoryGB: 1 }] }), /count 2 differs from 1 durations/);
});

test('S3 requests and ephemeral storage are priced when given', () => {
  const bill = lambdaRunCost({
    lambda: [{ label: 'ranks', count: 10, durationMs: 1000, memoryGB: 1, ephemeralStorageMB: 1536 }],
    s3: { get: 2000, put: 10, list: 1 },
  });
  const byId = Object.fromEntries(bill.items.map((i) => [i.id, i]));
  assert.ok(Math.abs(byId['s3.get'].usd - 2 * STUDY_PRICES.s3GetPerThousandUsd) < 1e-15);
  assert.ok(Math.abs(byId['s3.put'].usd - 0.01 * STUDY_PRICES.s3PutPerThousandUsd) < 1e-15);
  assert.ok(Math.abs(byId['s3.list'].usd - 0.001 * STUDY_PRICES.s3ListPerThousandUsd) < 1e-15);
  assert.equal(byId['lambda.ephemeral.ranks'].quantity, 10 * 1);
  assert.equal(byId['s3.get'].arithmetic, '2,000 req x 0.0004 USD / 1,000 req = 0.0008 USD');
});

test('prices from the shipped catalog equal the prices the study used', async () => {
  const prices = pricesFromCatalog(await loadCatalog());
  for (const k of ['gbSecondUsd', 'requestsPerMillionUsd', 'stateTransitionsPerThousandUsd'] as const) assert.equal(prices[k], STUDY_PRICES[k]);
  const arm = pricesFromCatalog(await loadCatalog(), 'arm64');
  assert.ok(arm.gbSecondUsd < prices.gbSecondUsd);
});
