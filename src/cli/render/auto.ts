// The text of `cai run --auto`: the commands that run a pick this machine cannot start itself (or, with
// --dry-run, any pick), and the line that sets the prediction beside the measured run. The plan's settings
// map onto the run flags: worldSize -> --world-size, concurrency -> --concurrency, threads -> --threads,
// batchSize -> --batch-size, memoryMB -> the deployed function's memory, partitionMB -> cai data
// repartition --partition-mb, instance/instances -> the EC2 launch.
import { basename, dirname } from 'node:path';
import { fmtUsd } from '../../cost/index.js';
import { fmtSeconds } from '../../planner/pick.js';
import { datasetPartitionMB } from '../../planner/platforms/shared.js';
import type { Candidate } from '../../planner/search.js';
import type { Workload } from '../../planner/types.js';
import type { Summary } from '../../workflow/contracts.js';

export interface CommandContext {
  /** --data and --out as given. */
  data: string;
  out: string;
  w: Workload;
  /** --model as given. */
  model?: string;
  /** Where cloud runs keep data and results: --out when it is s3://, else a placeholder. */
  bucketRoot: string;
}

/** One argument as a POSIX shell reads it. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const line = (...words: (string | number)[]): string => words.map((w) => shellWord(String(w))).join(' ');
const isS3 = (uri: string): boolean => /^s3:\/\//i.test(uri);

/** The data set's folder name, for the copies the commands make of it. */
function dataName(data: string): string {
  const trimmed = data.replace(/\/+$/, '');
  return basename(/\.json$/i.test(trimmed) ? dirname(trimmed) : trimmed) || 'data';
}

/** The exact commands that run `c` from this machine, in order. */
export function commandsFor(c: Candidate, x: CommandContext): string[] {
  const s = c.settings;
  const model = x.model !== undefined ? ['--model', x.model] : [];
  if (c.platform === 'local') return [line('cai', 'run', '--data', x.data, '--out', x.out, ...model, '--world-size', s.worldSize!, '--concurrency', s.concurrency!, '--threads', s.threads!, '--batch-size', s.batchSize!)];
  const name = dataName(x.data);
  const out: string[] = [];
  let data = x.data;
  if (c.platform === 'lambda') {
    const partitionMB = Number(s.partitionMB);
    const repartition = partitionMB !== datasetPartitionMB(x.w);
    out.push(`${line('cai', 'aws', 'deploy', '--memory-mb', s.memoryMB!)}   # then run the commands it prints; the stack's StateMachineArn goes in $CAI_STATE_MACHINE_ARN`);
    if (isS3(data) && repartition) {
      // Repartitioning in S3 is what `cai run --auto` does itself once the function is deployed.
      out.push(line('cai', 'run', '--auto', '--data', data, '--out', x.bucketRoot, '--state-machine-arn', '$CAI_STATE_MACHINE_ARN', '--memory-mb', s.memoryMB!, '--platforms', 'lambda'));
      return out;
    }
    if (!isS3(data)) {
      const local = repartition ? `${data.replace(/\/+$/, '').replace(/\/manifest\.json$/i, '')}-${partitionMB}mb` : data.replace(/\/manifest\.json$/i, '');
      if (repartition) out.push(line('cai', 'data', 'repartition', '--data', x.data, '--out', local, '--partition-mb', partitionMB));
      data = `${x.bucketRoot}/data/${repartition ? `${name}-${partitionMB}mb` : name}`;
      out.push(line('aws', 's3', 'sync', local, `${data}/`));
    }
    out.push(line('cai', 'aws', 'run', '--state-machine-arn', '$CAI_STATE_MACHINE_ARN', '--data', data, '--out', x.bucketRoot, '--world-size', s.worldSize!, '--concurrency', s.concurrency!, '--memory-mb', s.memoryMB!, '--batch-size', s.batchSize!));
    return out;
  }
  // gpu and ec2: K instances of a catalog type, each running this project on its share of the partitions.
  if (!isS3(data)) {
    data = `${x.bucketRoot}/data/${name}`;
    out.push(line('aws', 's3', 'sync', x.data.replace(/\/manifest\.json$/i, ''), `${data}/`));
  }
  const gpu = c.platform === 'gpu';
  const k = Number(s.instances);
  out.push(`${line('aws', 'ec2', 'run-instances', '--instance-type', s.instance!, '--count', k, '--image-id', gpu ? '$AMI_NODE20_CUDA12' : '$AMI_NODE20')}   # an image with Node.js 20${gpu ? ', CUDA 12 and cuDNN 9' : ''} and this project installed`);
  const share = k > 1 ? '   # on each instance, over its share of the partitions (1/K of them)' : '   # on the instance';
  if (gpu) out.push(line('cai', 'infer', '--device', 'cuda', '--data', data, '--out', 'predictions', '--batch-size', s.batchSize!) + share);
  else out.push(line('cai', 'run', '--data', data, '--out', x.bucketRoot, '--world-size', s.workers!, '--concurrency', s.workers!, '--threads', 1, '--batch-size', s.batchSize!) + share);
  return out;
}

/** "predicted 41.2 s, 0.00102 USD (local ...); measured 43.0 s: measured / predicted 1.04" */
export function predictedVsMeasured(s: Summary): string {
  const p = s.prediction;
  if (!p) return '';
  return `prediction (${p.platform}, profile "${p.basedOn.profile.label}"): ${fmtSeconds(p.wall_s)}, ${fmtUsd(p.cost_usd)} USD; measured ${fmtSeconds(s.wallTimeS)}: measured / predicted ${(s.wallTimeS / Math.max(p.wall_s, 1e-9)).toFixed(2)}`;
}

export function renderAutoCommands(c: Candidate, reason: string, commands: readonly string[], why: string): string {
  return [`pick: ${reason}`, `${why}; to run it:`, ...commands.map((x) => `  ${x}`), `predicted (modelled): ${fmtSeconds(c.wall_s)}, ${fmtUsd(c.cost_usd)} USD`].join('\n');
}
