import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Communicator } from '../../src/fmi/communicator.js';
import { connectTcpChannels, randomSecret } from '../../src/fmi/testing/world.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

test('cai fmi rendezvous serves a TCP world, logs events without the secret, and stops on SIGTERM', async () => {
  const secret = randomSecret();
  const child = spawn(process.execPath, [...CLI, 'fmi', 'rendezvous', '--secret-env', 'FMI_TEST_SECRET', '--json'], { env: { ...process.env, FMI_TEST_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', () => reject(new Error(`rendezvous exited early: ${stderr}`)));
    });
    const address = JSON.parse(first) as { host: string; port: number };
    assert.equal(address.host, '127.0.0.1');
    assert.ok(address.port > 0);
    const channels = await connectTcpChannels(3, address, { secret, communicator: 'cli-world' });
    const comms = channels.map((ch) => new Communicator(ch));
    assert.deepEqual(await Promise.all(comms.map((c) => c.allreduce(c.rank + 1, 'prod'))), [6, 6, 6]);
    await Promise.all(comms.map((c) => c.close()));
    // A stranger with another secret is refused and logged as such.
    await assert.rejects(connectTcpChannels(1, address, { secret: randomSecret(), communicator: 'intruder' }), /authentication failed/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  const events = stderr.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.filter((e) => e.event === 'admitted' && e.communicator === 'cli-world').length, 3);
  assert.ok(events.some((e) => e.event === 'complete' && e.communicator === 'cli-world' && e.worldSize === 3));
  assert.ok(events.some((e) => e.event === 'refused' && e.communicator === 'intruder'));
  assert.ok(!stderr.includes(secret));
});

test('cai fmi rendezvous without its secret fails with a one-line usage error', () => {
  const r = spawnSync(process.execPath, [...CLI, 'fmi', 'rendezvous', '--secret-env', 'FMI_SURELY_UNSET_VAR'], { encoding: 'utf8', env: { ...process.env, FMI_SURELY_UNSET_VAR: '' } });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'cai: environment variable FMI_SURELY_UNSET_VAR (from --secret-env) is not set or empty\n');
  const short = spawnSync(process.execPath, [...CLI, 'fmi', 'rendezvous', '--secret-env', 'S'], { encoding: 'utf8', env: { ...process.env, S: 'short' } });
  assert.equal(short.status, 2);
  assert.match(short.stderr, /^cai: rendezvous server: the shared secret must be a string of at least 16 characters\n$/);
});

test('cai fmi algorithms shows the model\'s choices', () => {
  const r = spawnSync(process.execPath, [...CLI, 'fmi', 'algorithms', '--world-size', '200', '--ranks-per-core', '100', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { selections: { op: string; algorithm: string; messages: number }[] };
  const pick = Object.fromEntries(out.selections.map((s) => [s.op, s.algorithm]));
  assert.equal(pick.barrier, 'tree');
  assert.equal(pick.allreduce, 'reduce-bcast');
  assert.equal(out.selections.find((s) => s.op === 'barrier')!.messages, 398);
  const human = spawnSync(process.execPath, [...CLI, 'fmi', 'algorithms', '--world-size', '8', '--op', 'barrier'], { encoding: 'utf8' });
  assert.match(human.stdout, /^world size 8, 1 rank\(s\) per core\nbarrier +dissemination +3 rounds +24 messages/);
  const bad = spawnSync(process.execPath, [...CLI, 'fmi', 'algorithms', '--op', 'alltoall'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^cai: --op must be one of barrier, bcast/);
});
