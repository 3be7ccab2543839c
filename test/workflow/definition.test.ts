import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/util/promise-with-resolvers.js';
import { StateMachine } from 'aws-local-stepfunctions';
import { buildDefinition, localArns, validateDefinition, STATE, TRANSIENT_ERRORS } from '../../src/workflow/definition.js';
import { UsageError } from '../../src/errors.js';

const awsArns = {
  initializeArn: 'arn:aws:lambda:us-west-2:123456789012:function:cai-initialize',
  rankArn: 'arn:aws:lambda:us-west-2:123456789012:function:cai-rank:live',
  summarizeArn: 'arn:aws:lambda:us-west-2:123456789012:function:cai-summarize',
};

test('the definition is valid ASL with a distributed Map, retry with backoff, catch and tolerance', () => {
  const def = buildDefinition({ ...awsArns, maxConcurrency: 7, rankTimeoutSeconds: 300, toleratedFailurePercentage: 10, retry: { intervalSeconds: 2, backoffRate: 3, maxAttempts: 4, maxDelaySeconds: 60 } });
  assert.deepEqual(validateDefinition(def), { valid: true, errors: [] });
  const map = def.States[STATE.ranks] as any;
  assert.equal(map.Type, 'Map');
  assert.equal(map.ItemsPath, '$.plan.pending');
  assert.equal(map.MaxConcurrency, 7);
  assert.equal(map.ToleratedFailurePercentage, 10);
  assert.deepEqual(map.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
  const rank = map.ItemProcessor.States[STATE.rank];
  assert.equal(rank.Resource, awsArns.rankArn);
  assert.equal(rank.TimeoutSeconds, 300);
  assert.deepEqual(rank.Retry, [{ ErrorEquals: [...TRANSIENT_ERRORS], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 4, MaxDelaySeconds: 60 }]);
  assert.deepEqual(rank.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: STATE.rankFailed }]);
  assert.ok(!TRANSIENT_ERRORS.includes('DataError' as never) && !TRANSIENT_ERRORS.includes('States.Timeout' as never));
  assert.equal((def.States[STATE.initialize] as any).Resource, awsArns.initializeArn);
  assert.equal((def.States[STATE.summarize] as any).Resource, awsArns.summarizeArn);
  // The state machine library that runs it locally accepts it too (it validates on construction).
  assert.doesNotThrow(() => new StateMachine(def as never));
});

test('the validator catches a broken definition', () => {
  const def = buildDefinition({ ...localArns(), maxConcurrency: 2, rankTimeoutSeconds: 60, toleratedFailurePercentage: 0 });
  (def.States[STATE.ranks] as any).Next = 'Nowhere';
  const r = validateDefinition(def);
  assert.equal(r.valid, false);
  assert.ok(r.errors.some((e) => /Nowhere/.test(e)), r.errors.join('; '));
  const bad = buildDefinition({ ...localArns(), maxConcurrency: 2, rankTimeoutSeconds: 60, toleratedFailurePercentage: 0 });
  (bad.States[STATE.initialize] as any).Resource = 'not-an-arn';
  assert.equal(validateDefinition(bad).valid, false);
});

test('bad parameters are usage errors', () => {
  const ok = { ...localArns(), maxConcurrency: 2, rankTimeoutSeconds: 60, toleratedFailurePercentage: 0 };
  assert.throws(() => buildDefinition({ ...ok, maxConcurrency: 0 }), UsageError);
  assert.throws(() => buildDefinition({ ...ok, toleratedFailurePercentage: 101 }), UsageError);
  assert.throws(() => buildDefinition({ ...ok, rankTimeoutSeconds: 0.5 }), UsageError);
  assert.throws(() => buildDefinition({ ...ok, retry: { intervalSeconds: 1, backoffRate: 0.5, maxAttempts: 1 } }), UsageError);
});

test('failed ranks are caught into outcomes; transient errors are retried, data errors are not', async () => {
  const def = buildDefinition({ ...localArns(), maxConcurrency: 2, rankTimeoutSeconds: 60, toleratedFailurePercentage: 50 });
  const calls = new Map<number, number>();
  const exec = new StateMachine(def as never).run({ run: { runId: 'x' } }, {
    overrides: {
      taskResourceLocalHandlers: {
        [STATE.initialize]: async () => ({ planKey: 'p', pending: [{ rank: 0 }, { rank: 1 }, { rank: 2 }] }),
        [STATE.rank]: async (ev: any) => {
          const n = (calls.get(ev.rank) ?? 0) + 1;
          calls.set(ev.rank, n);
          const fail = (name: string): never => {
            const e = new Error(`${name} on attempt ${n}`);
            e.name = name;
            throw e;
          };
          if (ev.rank === 1 && n === 1) fail('Runtime.ExitError');
          if (ev.rank === 2) fail('DataError');
          return { rank: ev.rank, status: 'succeeded' };
        },
        [STATE.summarize]: async (input: any) => input.outcomes,
      },
      retryIntervalOverrides: { [STATE.rank]: 1 },
    },
  });
  assert.deepEqual(await exec.result, [
    { rank: 0, status: 'succeeded' },
    { rank: 1, status: 'succeeded' },
    { rank: 2, status: 'failed', error: 'DataError', cause: 'DataError on attempt 1' },
  ]);
  assert.deepEqual([...calls.entries()].sort(), [[0, 1], [1, 2], [2, 1]]);
});
