// S3 throttling for real: the loopback S3 server (s3rver) behind a small proxy that answers chosen requests
// with 503 SlowDown, as S3 does under load. Uploads and gets must back off and succeed, and give up after
// the attempt limit with one line naming the object.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { UnavailableError } from '../../src/errors.js';
import { DEFAULT_AWS_MAX_ATTEMPTS, awsRetryConfig } from '../../src/util/aws-retry.js';
import { startS3, S3RVER_CREDENTIALS, type S3Fixture } from '../support/s3rver.js';

const SLOW_DOWN = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>cai-test</RequestId></Error>';

interface ThrottlingProxy {
  endpoint: string;
  /** Requests seen, by "METHOD /path" (query left out). */
  seen: Map<string, number>;
  /** How many more requests of "METHOD /path" get 503 SlowDown (Infinity: all of them). */
  throttle: Map<string, number>;
  close(): Promise<void>;
}

/** A proxy in front of `target` that answers throttled requests itself and forwards the rest unchanged. */
async function throttlingProxy(target: string): Promise<ThrottlingProxy> {
  const upstream = new URL(target);
  const seen = new Map<string, number>();
  const throttle = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const what = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    seen.set(what, (seen.get(what) ?? 0) + 1);
    const left = throttle.get(what) ?? 0;
    if (left > 0) {
      throttle.set(what, left - 1);
      req.resume();
      req.once('end', () => res.writeHead(503, { 'content-type': 'application/xml' }).end(SLOW_DOWN));
      return;
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, seen, throttle, close: () => new Promise((r) => server.close(() => r())) };
}

let s3: S3Fixture;
let proxy: ThrottlingProxy;
before(async () => {
  s3 = await startS3('cai-throttle');
  proxy = await throttlingProxy(s3.endpoint);
});
after(async () => {
  await proxy.close();
  await s3.stop();
});

const storage = (maxAttempts?: number): S3Storage =>
  new S3Storage({ bucket: s3.bucket, prefix: 'slow', endpoint: proxy.endpoint, credentials: S3RVER_CREDENTIALS, ...(maxAttempts !== undefined ? { maxAttempts } : {}) });

test('the default retry settings: the SDK standard strategy with more attempts, unless the environment says otherwise', () => {
  assert.deepEqual(awsRetryConfig(undefined, {}), { maxAttempts: DEFAULT_AWS_MAX_ATTEMPTS, retryMode: 'standard' });
  assert.deepEqual(awsRetryConfig(undefined, { AWS_MAX_ATTEMPTS: '2', AWS_RETRY_MODE: 'adaptive' }), {}, 'the SDK reads them itself');
  assert.deepEqual(awsRetryConfig(3, { AWS_MAX_ATTEMPTS: '2' }), { maxAttempts: 3, retryMode: 'standard' });
});

test('an upload and a get answered 503 SlowDown twice back off and succeed on the third attempt', async () => {
  const st = storage();
  const key = '/cai-throttle/slow/results/r/rank-00000.json';
  proxy.throttle.set(`PUT ${key}`, 2);
  await st.put('results/r/rank-00000.json', '{"ok":true}');
  assert.equal(proxy.seen.get(`PUT ${key}`), 3);
  proxy.throttle.set(`GET ${key}`, 2);
  assert.equal(Buffer.from(await st.get('results/r/rank-00000.json')).toString(), '{"ok":true}');
  assert.equal(proxy.seen.get(`GET ${key}`), 3);
});

test('throttled past the attempt limit: one line naming the object, the attempts and SlowDown', async () => {
  const st = storage(3);
  const key = '/cai-throttle/slow/results/r/predictions.csv';
  proxy.throttle.set(`PUT ${key}`, Infinity);
  await assert.rejects(st.put('results/r/predictions.csv', 'object_id,z_true,z_pred\n'), (e: unknown) => {
    assert.ok(e instanceof UnavailableError, String(e));
    assert.match(e.message, /^s3:\/\/cai-throttle\/slow\/results\/r\/predictions\.csv: put failed after 3 attempts over \d+\.\d s of backoff: SlowDown \(HTTP 503\): Please reduce your request rate\.$/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.equal(proxy.seen.get(`PUT ${key}`), 3, 'exactly the attempt limit, no more');
  proxy.throttle.delete(`PUT ${key}`);
  assert.equal(await st.head('results/r/predictions.csv'), undefined, 'nothing was stored');
});
