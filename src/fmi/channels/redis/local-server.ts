// A private redis-server on a free loopback port, without persistence: for benchmarks and tests that
// name no Redis of their own (`cai fmi bench --channel redis`, the test suite). Needs the redis-server
// binary (Debian: apt-get install redis-server).
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { UnavailableError } from '../../../errors.js';

export interface LocalRedis {
  url: string;
  /** What runs where (no secret). */
  describe: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
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
export async function startRedisServer(binary = 'redis-server'): Promise<LocalRedis> {
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
