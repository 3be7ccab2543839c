// Latency of barrier followed by an 8-byte allreduce on a loopback TCP world in this process: medians per
// operation, for the model's algorithm choice and for each fixed algorithm, measured in the same run.
// Run: node dist/fmi/testing/latency.js [worldSize ...] [--runs N]
import { fileURLToPath } from 'node:url';
import type { Communicator } from '../communicator.js';
import { startTcpWorld, type World } from './world.js';

export interface LatencyFigures {
  worldSize: number;
  barrier: { algorithm: string; medianMs: number };
  allreduce: { algorithm: string; medianMs: number };
  /** barrier median + allreduce median. */
  sumMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeEach(comms: readonly Communicator[], runs: number, warmup: number, op: (c: Communicator) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t = performance.now();
    await Promise.all(comms.map(op));
    if (i >= warmup) times.push(performance.now() - t);
  }
  return median(times);
}

/** Medians of barrier and of an 8-byte (one float64) sum allreduce over every rank of `world`. */
export async function measureBarrierAllreduce(world: World, options: { runs?: number; warmup?: number; barrier?: string; allreduce?: string } = {}): Promise<LatencyFigures> {
  const runs = options.runs ?? 30;
  const warmup = options.warmup ?? 5;
  const comms = world.comms;
  const barrierAlg = options.barrier ?? comms[0].algorithmFor('barrier');
  const allreduceAlg = options.allreduce ?? comms[0].algorithmFor('allreduce', 'sum');
  const barrier = await timeEach(comms, runs, warmup, (c) => c.barrier({ algorithm: barrierAlg }));
  const allreduce = await timeEach(comms, runs, warmup, (c) => c.allreduce(c.rank, 'sum', { algorithm: allreduceAlg }));
  return { worldSize: comms.length, barrier: { algorithm: barrierAlg, medianMs: barrier }, allreduce: { algorithm: allreduceAlg, medianMs: allreduce }, sumMs: barrier + allreduce };
}

async function main(argv: string[]): Promise<void> {
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 30;
  const sizes = argv.filter((a, i) => /^\d+$/.test(a) && (runsAt < 0 || i !== runsAt + 1)).map(Number);
  for (const n of sizes.length ? sizes : [3, 200]) {
    const world = await startTcpWorld(n);
    try {
      const chosen = await measureBarrierAllreduce(world, { runs });
      const rounds = await measureBarrierAllreduce(world, { runs, barrier: 'dissemination', allreduce: 'recursive-doubling' });
      const trees = await measureBarrierAllreduce(world, { runs, barrier: 'tree', allreduce: 'reduce-bcast' });
      const f = (x: LatencyFigures) => `${x.barrier.algorithm} ${x.barrier.medianMs.toFixed(3)} ms + ${x.allreduce.algorithm} ${x.allreduce.medianMs.toFixed(3)} ms = ${x.sumMs.toFixed(3)} ms`;
      console.log(`world ${n} (tcp loopback, one process, ${runs} runs):`);
      console.log(`  model choice:  ${f(chosen)}`);
      console.log(`  log rounds:    ${f(rounds)}`);
      console.log(`  binomial tree: ${f(trees)}   (log rounds / tree = ${(rounds.sumMs / trees.sumMs).toFixed(2)})`);
    } finally {
      await world.close();
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
