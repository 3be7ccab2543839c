import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { RendezvousServer, type RendezvousEvent } from '../../fmi/channels/tcp/index.js';
import { ALGORITHMS, selectAlgorithm, type CollectiveOp, type Selection } from '../../fmi/collectives/select.js';
import { action, emit, parseIntOption, parseNumberOption } from '../output.js';
import { registerFmiBench } from './fmi-bench.js';

export function register(program: Command): void {
  const fmi = program.command('fmi').description('FMI: MPI-style messaging between function instances');
  registerRendezvous(fmi);
  registerAlgorithms(fmi);
  registerFmiBench(fmi);
}

interface RendezvousOpts {
  host: string;
  port: number;
  secretEnv?: string;
  maxWorldSize?: number;
  json?: boolean;
}

function registerRendezvous(fmi: Command): void {
  fmi
    .command('rendezvous')
    .description('run the rendezvous server where TCP ranks of a communicator find each other (until interrupted)')
    .option('--host <host>', 'interface to bind (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', parseIntOption('port'), 0)
    .requiredOption('--secret-env <VAR>', 'environment variable holding the communicators\' shared secret (never printed)')
    .option('--max-world-size <n>', 'largest world size admitted', parseIntOption('max-world-size'))
    .option('--json', 'print the listening address and events as JSON lines')
    .addHelpText(
      'after',
      `
The first line on stdout gives the address ranks should use, e.g.
  rendezvous listening on 127.0.0.1:7400            (or {"host":"127.0.0.1","port":7400} with --json)
Events (admitted, refused, complete, ...) follow on stderr, one per line.

Example:
  export FMI_SECRET=$(openssl rand -hex 32)
  cai fmi rendezvous --port 7400 --secret-env FMI_SECRET`,
    )
    .action(
      action(async (opts: RendezvousOpts) => {
        if (!opts.secretEnv) throw new UsageError('--secret-env is required');
        const secret = process.env[opts.secretEnv];
        if (!secret) throw new UsageError(`environment variable ${opts.secretEnv} (from --secret-env) is not set or empty`);
        if (opts.port < 0 || opts.port > 65535) throw new UsageError(`--port must be 0..65535, got ${opts.port}`);
        const log = (e: RendezvousEvent) => process.stderr.write((opts.json ? JSON.stringify(e) : describeEvent(e)) + '\n');
        const server = await RendezvousServer.start({ host: opts.host, port: opts.port, secret, maxWorldSize: opts.maxWorldSize, log });
        const { host, port } = server.address;
        if (opts.json) process.stdout.write(JSON.stringify({ host, port }) + '\n');
        else process.stdout.write(`rendezvous listening on ${host}:${port}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
      }),
    );
}

function describeEvent(e: RendezvousEvent): string {
  const who = e.communicator !== undefined ? ` "${e.communicator}" run "${e.runId}"${e.rank !== undefined ? ` rank ${e.rank}` : ''}${e.worldSize !== undefined ? `/${e.worldSize}` : ''}` : '';
  const from = e.peer ? ` from ${e.peer}` : '';
  return `${e.event}${who}${from}${e.reason ? `: ${e.reason}` : ''}`;
}

interface AlgorithmsOpts {
  worldSize: number;
  ranksPerCore: number;
  latencyUs?: number;
  perMessageUs?: number;
  op?: string;
  nonAssociative?: boolean;
  nonCommutative?: boolean;
  json?: boolean;
}

function registerAlgorithms(fmi: Command): void {
  fmi
    .command('algorithms')
    .description('show which collective algorithm the cost model picks, with rounds, messages and estimated time')
    .option('--world-size <n>', 'ranks in the communicator', parseIntOption('world-size'), 200)
    .option('--ranks-per-core <k>', 'ranks sharing one CPU core (1: a core each)', parseNumberOption('ranks-per-core'), 1)
    .option('--latency-us <us>', 'one message\'s network latency in microseconds', parseNumberOption('latency-us'))
    .option('--per-message-us <us>', 'CPU time per message in microseconds', parseNumberOption('per-message-us'))
    .option('--op <name>', `one operation (${Object.keys(ALGORITHMS).join(', ')}); default all`)
    .option('--non-associative', 'the reduction operator is not associative')
    .option('--non-commutative', 'the reduction operator is not commutative')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  cai fmi algorithms --world-size 200 --ranks-per-core 100\n  cai fmi algorithms --op allreduce --world-size 64 --json')
    .action(
      action(async (opts: AlgorithmsOpts) => {
        if (opts.worldSize < 1) throw new UsageError(`--world-size must be at least 1, got ${opts.worldSize}`);
        if (!(opts.ranksPerCore > 0)) throw new UsageError(`--ranks-per-core must be positive, got ${opts.ranksPerCore}`);
        const ops = opts.op ? [opts.op] : Object.keys(ALGORITHMS);
        for (const op of ops) if (!(op in ALGORITHMS)) throw new UsageError(`--op must be one of ${Object.keys(ALGORITHMS).join(', ')}, got "${op}"`);
        const selections: Selection[] = ops.map((op) =>
          selectAlgorithm(op as CollectiveOp, opts.worldSize, {
            ranksPerCore: opts.ranksPerCore,
            latencyUs: opts.latencyUs,
            perMessageUs: opts.perMessageUs,
            associative: !opts.nonAssociative,
            commutative: !opts.nonCommutative,
          }),
        );
        emit(opts, { worldSize: opts.worldSize, ranksPerCore: opts.ranksPerCore, selections }, () => {
          const lines = [`world size ${opts.worldSize}, ${opts.ranksPerCore} rank(s) per core`];
          for (const s of selections) {
            const row = (label: string, c: { rounds: number; messages: number; estimatedUs: number }) => `${label.padEnd(22)} ${String(c.rounds).padStart(4)} rounds ${String(c.messages).padStart(7)} messages  ~${fmtUs(c.estimatedUs)}`;
            lines.push(`${s.op.padEnd(10)} ${row(s.algorithm, s)}`);
            for (const c of s.candidates.slice(1)) lines.push(`${''.padEnd(10)} ${row(`  vs ${c.algorithm}`, c)}`);
          }
          return lines.join('\n');
        });
      }),
    );
}

function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`;
}
