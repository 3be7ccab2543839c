// Entry point of one bench worker process: hosts a block of ranks, opens their endpoints through the
// channel's backend, waits for the coordinator's go, runs the rank program on every hosted rank at once,
// and reports durations over IPC.
import { exitCodeOf, oneLine } from '../../errors.js';
import type { Channel, ChannelConfig } from '../../fmi/channel.js';
import { channelBackend } from '../../fmi/channels/index.js';
import { Communicator } from '../../fmi/communicator.js';
import type { BenchJob, FromWorker, ToWorker } from './job.js';
import { rankProgram } from './job.js';

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => process.send!(msg, undefined, {}, () => resolve()));
}

let channels: Channel[] = [];
let job: BenchJob | undefined;

async function closeAll(): Promise<void> {
  await Promise.allSettled(channels.map((ch) => ch.close()));
}

async function openRanks(j: BenchJob): Promise<Channel[]> {
  const configs: ChannelConfig[] = [];
  for (let rank = j.firstRank; rank < j.endRank; rank++) configs.push({ communicator: j.communicator, runId: j.runId, rank, worldSize: j.worldSize, secret: j.secret, maxFrameBytes: j.maxFrameBytes });
  const backend = await channelBackend(j.channel);
  return backend.open(configs, backend.parseEndpoint(j.endpoint, `${j.channel} bench job`), { deadline: Date.now() + j.timeoutMs });
}

async function fail(err: unknown): Promise<never> {
  await send({ type: 'error', message: oneLine(err), exitCode: exitCodeOf(err) }).catch(() => undefined);
  await closeAll().catch(() => undefined);
  process.exit(1);
}

async function onMessage(msg: ToWorker): Promise<void> {
  if (msg.type === 'job') {
    job = msg.job;
    channels = await openRanks(job);
    await send({ type: 'ready' });
  } else if (msg.type === 'go') {
    const j = job!;
    const comms = channels.map((ch) => new Communicator(ch, { name: j.communicator, timeoutMs: j.timeoutMs, ranksPerCore: j.ranksPerCore }));
    const durations = await Promise.all(comms.map((comm) => rankProgram(comm, j.plan, j.runs, j.warmup, j.timeoutMs)));
    await send({ type: 'result', ranks: comms.map((comm, i) => ({ rank: comm.rank, durations: durations[i]! })) });
  } else if (msg.type === 'close') {
    await closeAll();
    process.exit(0);
  }
}

if (!process.send) {
  process.stderr.write('cai: the FMI bench worker runs only as a child of `cai fmi bench`\n');
  process.exit(2);
}
process.on('message', (msg: ToWorker) => void onMessage(msg).catch(fail));
// The coordinator went away: nothing left to report to.
process.on('disconnect', () => void closeAll().finally(() => process.exit(1)));
