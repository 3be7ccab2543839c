// What a channel needs to run on one machine: a loopback redis-server, a loopback S3-API server (s3rver),
// or the rendezvous server for direct TCP. Each starts on a free port and stops cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnavailableError } from '../../errors.js';
import { RendezvousServer } from '../rendezvous/server.js';
import type { PeerAddress } from '../rendezvous/protocol.js';

export interface Service {
  /** What workers need to reach it (no secrets). */
  describe: string;
  stop(): Promise<void>;
}

export interface RedisService extends Service {
  url: string;
}

export interface S3Service extends Service {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface RendezvousService extends Service {
  address: PeerAddress;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, what: string, exited: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    const gone = exited();
    if (gone) throw new UnavailableError(`${what} exited before listening: ${gone}`);
    if (Date.now() > until) throw new UnavailableError(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A private redis-server on a free loopback port, without persistence. */
export async function startRedisServer(binary = 'redis-server'): Promise<RedisService> {
  const port = await freePort();
  const proc = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '10000', '--protected-mode', 'yes'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let failure: string | undefined;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-400)));
  proc.once('error', (err: NodeJS.ErrnoException) => (failure = err.code === 'ENOENT' ? `${binary} is not installed (Debian: apt-get install redis-server)` : err.message));
  const exited = new Promise<void>((resolve) => proc.once('exit', (code) => ((failure ??= `exit code ${code}${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`), resolve())));
  try {
    await waitForPort(port, 10_000, binary, () => failure);
  } catch (err) {
    proc.kill('SIGKILL');
    if (failure?.includes('not installed')) throw new UnavailableError(failure);
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    describe: `redis-server on 127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** The loopback S3-API server (s3rver, a development dependency) in this process, in a fresh directory. */
export async function startS3Server(bucket = 'cai-fmi-bench'): Promise<S3Service> {
  let S3rver: new (opts: object) => { run(): Promise<unknown>; close(): Promise<void> };
  try {
    // A development dependency, absent from production installs: load it by name at run time only.
    const name = 's3rver';
    S3rver = ((await import(name)) as { default: typeof S3rver }).default;
  } catch {
    throw new UnavailableError('s3rver is not installed (npm install --save-dev s3rver@3.7.1), and no --s3-endpoint was given');
  }
  const directory = mkdtempSync(join(tmpdir(), 'cai-fmi-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const info = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    bucket,
    // s3rver accepts only its fixed development key pair.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    describe: `s3rver on 127.0.0.1:${info.port}`,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export async function startRendezvous(secret: string): Promise<RendezvousService> {
  const server = await RendezvousServer.start({ secret, host: '127.0.0.1', port: 0 });
  const address = server.address;
  return {
    address,
    describe: `rendezvous server on ${address.host}:${address.port}`,
    stop: () => server.close(),
  };
}
