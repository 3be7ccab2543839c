// `cai calibrate`: measure this machine and device into a profile that `cai estimate`, `cai plan` and
// `cai run --auto` use by default; `--from-run` refines a profile from a finished run instead.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { loadCatalog } from '../../cost/index.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_PROFILE, DEFAULT_PROFILE_DIR, defaultProfilePath, type Profile } from '../../planner/profile.js';
import { parseDeviceChoice } from '../../runtime/devices.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { deviceOption } from '../flags/infer-flags.js';
import { Progress, action, emit } from '../output.js';
import { checkOutputFile } from '../parse.js';
import { calibrationProgressLine, renderProfile, renderRefined } from '../render/calibrate.js';
import { readProfileFile } from '../flags/planner-inputs.js';

interface CalibrateFlags {
  device: string;
  out?: string;
  quick?: boolean;
  model?: string;
  fromRun?: string;
  profile?: string;
  s3Endpoint?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('measure samples/s by threads and batch size, model load, worker start and read bandwidth into a profile for estimate and plan')
    .addOption(deviceOption(true))
    .option('--out <profile.json>', `where the profile goes (default: ${DEFAULT_PROFILE_DIR}/<device>.json, or $CAI_PROFILE_DIR/<device>.json)`)
    .option('--quick', 'two batch sizes, fewer samples, one run: under a minute on two cores')
    .option('--model <file.onnx>', 'the model to measure (default: the built-in calibrated AstroMAE model)')
    .option('--from-run <results-dir>', "refine a profile from a finished run's results (<out>/results/<run-id>, a directory or s3:// prefix) instead of measuring")
    .option('--profile <file>', `--from-run: the profile to refine (default: ${DEFAULT_PROFILE_DIR}/cpu.json if there, else the built-in one)`)
    .option('--s3-endpoint <url>', '--from-run: S3-compatible endpoint for s3:// results (default: $AWS_ENDPOINT_URL_S3, else AWS)')
    .option('--json', 'print the profile (and what --from-run changed) as JSON')
    .addHelpText(
      'after',
      `
Measures, on this machine and device: samples/s of one instance at 1, 2, 4, ... threads up to the cores
and at batch sizes 64, 256, 512 (a GPU: 256, 512, 1024 at one thread); the first model session (the cold
start's model load); reading a synthesized partition back with its sha256; and a whole one-rank run
through the local worker processes (worker start, the run's fixed cost, the per-partition time, memory).
The load average while measuring is recorded: on a shared machine the figures are the shared machine's.

The profile is written to ${DEFAULT_PROFILE_DIR}/<device>.json under the working directory (or
$CAI_PROFILE_DIR/<device>.json), where "cai estimate", "cai plan" and "cai run --auto" look for it;
--profile F on those commands uses another one.

--from-run DIR refines it from a finished run: a run on this machine updates samples/s at its threads and
batch size, worker start, model load, read bandwidth, per-partition time, memory and the fixed run cost;
a run on AWS Lambda records the rank function's rate, cold start, S3 bandwidth and per-partition time and
refits the orchestration figures on the AWS runs kept so far. The run id goes into "refinedFrom".

Examples:
  cai calibrate
  cai calibrate --quick --json
  cai calibrate --device cuda --out gpu.json
  cai calibrate --from-run ./out/results/run-20261202-101500-3fa2
  cai calibrate --from-run s3://my-bucket/results/run-20261202-101500-3fa2

Exit codes: 2 bad flags; 3 an unusable profile or run directory; 4 a missing or unusable model;
7 the device's execution provider is not available here (or S3 is unreachable).`,
    )
    .action(
      action(async (flags: CalibrateFlags) => {
        if (flags.fromRun !== undefined) return fromRun(flags);
        if (flags.profile !== undefined) throw new UsageError('--profile applies to --from-run');
        if (flags.out !== undefined) await checkOutputFile(flags.out);
        const device = parseDeviceChoice(flags.device);
        const { measureCalibration } = await import('../../planner/calibrate/measure.js');
        const { profileOfMeasurements } = await import('../../planner/calibrate/profile-of.js');
        const progress = new Progress(flags);
        let profile: Profile;
        try {
          const command = ['cai', 'calibrate', ...process.argv.slice(3)].join(' ');
          profile = profileOfMeasurements(await measureCalibration({ device, model: flags.model, quick: flags.quick, command, onProgress: (p) => progress.update(calibrationProgressLine(p), true) }));
        } finally {
          progress.done();
        }
        const file = flags.out ?? defaultProfilePath(profile.device.kind);
        await writeFileAtomic(file, JSON.stringify(profile, null, 2) + '\n', { mkdir: true });
        emit(flags, { file, profile }, () => renderProfile(profile, file));
      }),
    );
}

async function fromRun(flags: CalibrateFlags): Promise<void> {
  if (flags.quick || flags.model !== undefined) throw new UsageError('--quick and --model apply to measuring, not to --from-run');
  if (flags.s3Endpoint) process.env.AWS_ENDPOINT_URL_S3 = flags.s3Endpoint;
  const defaultFile = defaultProfilePath('cpu');
  const inFile = flags.profile ?? ((await stat(defaultFile).then((st) => st.isFile(), () => false)) ? defaultFile : undefined);
  const base = inFile ? await readProfileFile(inFile) : DEFAULT_PROFILE;
  const out = flags.out ?? inFile ?? defaultFile;
  await checkOutputFile(out);
  const { readFinishedRun } = await import('../../planner/calibrate/finished-run.js');
  const { refineFromRun } = await import('../../planner/calibrate/refine.js');
  const run = await readFinishedRun(flags.fromRun!);
  const machine = { cpuModel: cpus()[0]?.model.trim() || 'unknown CPU', cores: availableParallelism(), memoryGB: Number((totalmem() / 2 ** 30).toFixed(2)) };
  const refined = refineFromRun(base, run, { catalog: await loadCatalog(), machine });
  await writeFileAtomic(out, JSON.stringify(refined.profile, null, 2) + '\n', { mkdir: true });
  emit(flags, { file: out, refinedFrom: run.summary.runId, kind: refined.kind, changes: refined.changes, notes: refined.notes, profile: refined.profile }, () => renderRefined(refined, out));
}
