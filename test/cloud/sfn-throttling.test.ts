// `cai aws run`'s Step Functions calls under throttling. There is no Step Functions server to run on
// loopback, so a small HTTP endpoint speaks the API's JSON protocol for the calls the engine makes
// (StartExecution, DescribeExecution, ListMapRuns), answering chosen calls with ThrottlingException as
// the service does past its rate. The engine's real SDK client must back off and succeed, and give up
// after its attempt limit with one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { StepFunctionsEngine } from '../../src/compute/lambda/engine.js';
import { UnavailableError } from '../../src/errors.js';

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Cai-run';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:Cai-run:t-1';

interface FakeStepFunctions {
  endpoint: string;
  /** Calls seen, by operation name. */
  seen: Map<string, number>;
  /** How many more calls of an operation are answered ThrottlingException (Infinity: all). */
  throttle: Map<string, number>;
  /** What DescribeExecution reports. */
  status: { value: string };
  close(): Promise<void>;
}

async function fakeStepFunctions(): Promise<FakeStepFunctions> {
  const seen = new Map<string, number>();
  const throttle = new Map<string, number>();
  const status = { value: 'SUCCEEDED' };
  const answers: Record<string, () => unknown> = {
    StartExecution: () => ({ executionArn: EXECUTION, startDate: 1_767_225_600 }),
    DescribeExecution: () => ({ executionArn: EXECUTION, stateMachineArn: ARN, status: status.value, startDate: 1_767_225_600, ...(status.value === 'RUNNING' ? {} : { stopDate: 1_767_225_660, output: '{"runId":"t"}' }) }),
    ListMapRuns: () => ({ mapRuns: [] }),
  };
  const server: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
    seen.set(op, (seen.get(op) ?? 0) + 1);
    req.resume();
    req.once('end', () => {
      const left = throttle.get(op) ?? 0;
      if (left > 0) {
        throttle.set(op, left - 1);
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ThrottlingException' }).end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
        return;
      }
      const body = answers[op]?.();
      if (!body) res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'UnknownOperationException', message: op }));
      else res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, seen, throttle, status, close: () => new Promise((r) => server.close(() => r())) };
}

let sfn: FakeStepFunctions;
before(async () => {
  sfn = await fakeStepFunctions();
});
after(async () => {
  await sfn.close();
});

const engine = (maxAttempts?: number): Promise<StepFunctionsEngine> =>
  StepFunctionsEngine.forStateMachine(ARN, { endpoint: sfn.endpoint, credentials: { accessKeyId: 'TEST', secretAccessKey: 'TEST' }, ...(maxAttempts !== undefined ? { maxAttempts } : {}) });

test('StartExecution and DescribeExecution throttled twice back off and succeed', async () => {
  const e = await engine();
  try {
    sfn.seen.clear();
    sfn.throttle.set('StartExecution', 2);
    sfn.throttle.set('DescribeExecution', 2);
    const started = await e.start({ stateMachineArn: ARN, name: 't-1', input: { run: {} as never } });
    assert.equal(started.executionArn, EXECUTION);
    const end = await e.wait(EXECUTION, { intervalMs: 200 });
    assert.equal(end.status, 'SUCCEEDED');
    assert.deepEqual(end.output, { runId: 't' });
    assert.equal(sfn.seen.get('StartExecution'), 3);
    assert.equal(sfn.seen.get('DescribeExecution'), 3);
  } finally {
    await e.close();
  }
});

test('throttled past the attempt limit: one line with the attempts, exit code 7', async () => {
  const e = await engine(3);
  try {
    sfn.seen.clear();
    sfn.throttle.set('StartExecution', Infinity);
    await assert.rejects(e.start({ stateMachineArn: ARN, name: 't-2', input: { run: {} as never } }), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, String(err));
      assert.equal(err.exitCode, 7);
      assert.match(err.message, /^starting t-2 on arn:aws:states:us-east-1:123456789012:stateMachine:Cai-run after 3 attempts over \d+\.\d s of backoff: ThrottlingException: Rate exceeded$/);
      return true;
    });
    assert.equal(sfn.seen.get('StartExecution'), 3);
  } finally {
    sfn.throttle.delete('StartExecution');
    await e.close();
  }
});

test('a signal stops the waiting at once with its reason; the execution is left running', async () => {
  const e = await engine();
  const stop = new AbortController();
  try {
    sfn.status.value = 'RUNNING';
    const t0 = Date.now();
    const waiting = e.wait(EXECUTION, { intervalMs: 60_000, signal: stop.signal, onUpdate: () => stop.abort(new Error('stopped waiting')) });
    await assert.rejects(waiting, (err: unknown) => err instanceof Error && err.message === 'stopped waiting');
    assert.ok(Date.now() - t0 < 60_000, 'it did not sleep out the poll interval');
  } finally {
    sfn.status.value = 'SUCCEEDED';
    await e.close();
  }
});
