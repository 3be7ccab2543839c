import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { FmiDeadlineError } from '../../src/fmi/errors.js';
import { startInprocWorld } from '../../src/fmi/testing/world.js';

test('point-to-point messages match by tag and never meet collective frames', async () => {
  const w = await startInprocWorld(3);
  const [a, b, c] = w.comms;
  await a.send(new Float32Array([1, 2]), 1, { tag: 5 });
  await a.send(42, 1); // tag 0
  await c.send(7n, 1, { tag: 5 });
  // A collective in between: its frames must not satisfy the pending point-to-point receives.
  const sums = await Promise.all(w.comms.map((m) => m.allreduce(m.rank + 1, 'sum')));
  assert.deepEqual(sums, [6, 6, 6]);
  assert.equal(await b.recv(0), 42);
  assert.deepStrictEqual(await b.recv(0, { tag: 5 }), new Float32Array([1, 2]));
  assert.equal(await b.recv(2, { tag: 5 }), 7n);
  await w.close();
});

test('results never alias the caller\'s arrays', async () => {
  const w = await startInprocWorld(1);
  const [only] = w.comms;
  const mine = new Float64Array([1, 2]);
  for (const got of [await only.allreduce(mine, 'sum'), await only.bcast(mine, 0), (await only.gather(mine, 0))![0], await only.scan(mine, 'max'), (await only.allgather(mine))[0], await only.scatter([mine], 0)]) {
    assert.deepStrictEqual(got, mine);
    assert.notEqual(got, mine);
    (got as Float64Array)[0] = 99;
    assert.equal(mine[0], 1);
  }
  await w.close();
});

test('a receive past its deadline names the rank it waited for', async () => {
  const w = await startInprocWorld(2, { name: 'jobs' });
  const started = Date.now();
  await assert.rejects(w.comms[0].recv(1, { tag: 3, timeoutMs: 60 }), (e: unknown) => {
    assert.ok(e instanceof FmiDeadlineError);
    assert.deepEqual(e.ranks, [1]);
    assert.match(e.message, /^fmi recv on rank 0\/2 of "jobs": deadline passed while waiting for rank 1$/);
    assert.equal(e.exitCode, 6);
    return true;
  });
  assert.ok(Date.now() - started >= 55, 'waited for the deadline');
  await w.close();
});

test('bad arguments are usage errors with one clear line', async () => {
  const w = await startInprocWorld(2, { name: 'u' });
  const c = w.comms[0];
  await assert.rejects(c.send(1, 2), (e: unknown) => e instanceof UsageError && e.message === 'cannot send to rank 2: "u" has ranks 0..1');
  await assert.rejects(c.recv(-1), /cannot receive from rank -1/);
  await assert.rejects(c.send(1, 1, { tag: -3 }), /tag must be an integer/);
  await assert.rejects(c.bcast(undefined, 0), /bcast: root 0 has no value/);
  await assert.rejects(c.scatter([1], 0), /scatter: root 0 needs 2 values, got 1/);
  await assert.rejects(c.allreduce(1, 'mean' as 'sum'), /unknown reduction "mean"/);
  await assert.rejects(c.barrier({ timeoutMs: 0 }), /timeoutMs must be positive/);
  await w.close();
});

test('a non-associative reduction is folded strictly left to right in rank order', async () => {
  const w = await startInprocWorld(6);
  const op = { fn: (a: number, b: number) => a * 10 + b, associative: false, commutative: false };
  const want = [0, 1, 2, 3, 4, 5].reduce((a, b) => a * 10 + b);
  assert.deepEqual(await Promise.all(w.comms.map((c) => c.allreduce(c.rank, op))), Array(6).fill(want));
  assert.deepEqual(await Promise.all(w.comms.map((c) => c.reduce(c.rank, op, 4))), [undefined, undefined, undefined, undefined, want, undefined]);
  assert.deepEqual(await Promise.all(w.comms.map((c) => c.scan(c.rank, op))), [0, 1, 12, 123, 1234, 12345]);
  await w.close();
});
