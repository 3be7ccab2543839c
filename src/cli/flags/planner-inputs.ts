// What `cai estimate` and `cai plan` read before the pure planner runs: the workload (a manifest, a size
// or a sample count), the profiles, the price catalog, and the planning environment from their flags.
import { Option } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { BYTES_PER_SAMPLE, loadCatalog, type PriceCatalog } from '../../cost/index.js';
import { DataError, UsageError } from '../../errors.js';
import { planEnv, DEFAULT_DOWNLINK_MBPS, DEFAULT_UPLINK_MBPS, LOCAL_PRICE_REFERENCE } from '../../planner/env.js';
import { MAX_PROFILE_BYTES, PROFILE_DEVICES, defaultProfilePath, parseProfile, type Profile } from '../../planner/profile.js';
import type { DataLocation, PlanEnv, PlatformName, Workload } from '../../planner/types.js';
import { PLATFORM_NAMES } from '../../planner/platforms/index.js';
import { nonNegativeNumber, positiveInt, positiveNumber } from '../parse.js';

export interface PlannerInputFlags {
  data?: string;
  dataGb?: number;
  samples?: number;
  dataAt?: DataLocation;
  partitionMb?: number;
  profile?: string[];
  catalog?: string;
  uplinkMbps?: number;
  downlinkMbps?: number;
  localUsdPerHour?: number;
  accountConcurrency?: number;
  ec2VcpuQuota?: number;
  perSampleMs?: number;
  cores?: number;
}

/** Partition size of a data set described only by its size (the project's default partitioning). */
export const DEFAULT_PARTITION_MB = 25;

export function inputOptions(): Option[] {
  return [
    new Option('--data <manifest>', 'data set: a local directory or manifest.json, or s3://bucket/prefix/manifest.json'),
    new Option('--data-gb <g>', 'a data set of this many GB (10^9 bytes of model input, 20,500 bytes a sample)').argParser(positiveNumber),
    new Option('--samples <n>', 'a data set of this many samples').argParser(positiveInt),
    new Option('--data-at <where>', 'where the data set is: local (cloud runs upload it first) or s3 (a local run downloads it); default: from --data, else s3').choices(['local', 's3']),
    new Option('--partition-mb <mb>', `partition size of the data set (default: the manifest's, else ${DEFAULT_PARTITION_MB})`).argParser(positiveNumber),
    new Option('--profile <file>', 'a profile written by `cai calibrate` (repeat for a CPU and a GPU profile; default: those calibrate wrote to build/profiles/ or $CAI_PROFILE_DIR, else the built-in one)').argParser((v: string, prev: string[] = []) => [...prev, v]),
    new Option('--catalog <file>', 'price catalog (default: the shipped catalog/aws-prices.json)'),
    new Option('--uplink-mbps <u>', `this machine's upload speed to S3 in Mbit/s (default ${DEFAULT_UPLINK_MBPS})`).argParser(positiveNumber),
    new Option('--downlink-mbps <d>', `this machine's download speed from S3 in Mbit/s (default ${DEFAULT_DOWNLINK_MBPS})`).argParser(positiveNumber),
    new Option('--local-usd-per-hour <x>', `what an hour of this machine costs (default: renting as many vCPUs, ${LOCAL_PRICE_REFERENCE} on-demand per vCPU; 0: free)`).argParser(nonNegativeNumber),
    new Option('--account-concurrency <c>', "the account's Lambda concurrency quota (default 1000)").argParser(positiveInt),
    new Option('--ec2-vcpu-quota <n>', "vCPUs the account may run on EC2 at once (default 5789: what Lambda's default quota gets)").argParser(positiveInt),
    new Option('--cores <n>', "this machine's cores (default: this machine's, or the --profile machine's)").argParser(positiveInt),
  ];
}

/** The workload the flags describe. Exactly one of --data, --data-gb, --samples. */
export async function readWorkload(f: PlannerInputFlags): Promise<Workload> {
  const given = [f.data !== undefined, f.dataGb !== undefined, f.samples !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --data MANIFEST, --data-gb G, --samples N');
  if (f.data !== undefined) {
    const { manifest, location } = await readManifest(f.data);
    if (manifest.samples < 1) throw new DataError(f.data, 'the data set has no samples');
    const largest = Math.max(...manifest.partitions.map((p) => p.samples));
    const bytesPerSample = manifest.bytes / manifest.samples;
    const partitionSamples = f.partitionMb !== undefined ? Math.max(1, Math.floor((f.partitionMb * 1e6) / bytesPerSample)) : largest;
    return { samples: manifest.samples, bytesPerSample, partitionSamples, location: f.dataAt ?? location, description: f.data };
  }
  const samples = f.samples ?? Math.max(1, Math.round((f.dataGb! * 1e9) / BYTES_PER_SAMPLE));
  const partitionMb = f.partitionMb ?? DEFAULT_PARTITION_MB;
  return {
    samples,
    bytesPerSample: BYTES_PER_SAMPLE,
    partitionSamples: Math.max(1, Math.floor((partitionMb * 1e6) / BYTES_PER_SAMPLE)),
    location: f.dataAt ?? 's3',
    description: f.samples !== undefined ? `${samples.toLocaleString('en-US')} samples` : `${f.dataGb} GB`,
  };
}

async function readManifest(uri: string): Promise<{ manifest: { samples: number; bytes: number; partitions: { samples: number }[] }; location: DataLocation }> {
  if (/^s3:\/\//i.test(uri)) {
    // Loaded on use: only an S3 manifest needs the SDK.
    const { openStorage, splitManifestUri } = await import('../../storage/index.js');
    const { openDataset } = await import('../../data/dataset.js');
    const { root, manifestKey } = splitManifestUri(uri, () => false);
    const ds = await openDataset(openStorage(root), manifestKey);
    return { manifest: ds.manifest, location: 's3' };
  }
  const { openLocalDataset } = await import('../../data/dataset.js');
  const ds = await openLocalDataset(uri);
  return { manifest: ds.manifest, location: 'local' };
}

/** One profile file, size-checked and parsed (exit code 3 naming the file when it is unusable). */
export async function readProfileFile(file: string): Promise<Profile> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new DataError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'profile not found' : 'cannot read the profile');
  }
  if (size > MAX_PROFILE_BYTES) throw new DataError(file, `profile is ${size} bytes, more than the ${MAX_PROFILE_BYTES} allowed`);
  return parseProfile(await readFile(file, 'utf8'), file);
}

/** The profiles `cai calibrate` left at the default location (build/profiles/<device>.json), in device order. */
export async function defaultLocationProfiles(): Promise<string[]> {
  const found: string[] = [];
  for (const device of PROFILE_DEVICES) {
    const file = defaultProfilePath(device);
    if (await stat(file).then((s) => s.isFile(), () => false)) found.push(file);
  }
  return found;
}

/**
 * The CPU and GPU profiles: the files given, else those `cai calibrate` wrote at the default location
 * (the first GPU one when it wrote several), else none (the built-in default then stands in).
 */
export async function readProfiles(files: readonly string[] = []): Promise<{ cpu?: Profile; gpu?: Profile; files: string[] }> {
  const given = files.length > 0;
  const out: { cpu?: Profile; gpu?: Profile; files: string[] } = { files: [] };
  for (const file of given ? files : await defaultLocationProfiles()) {
    const p = await readProfileFile(file);
    const slot = p.device.kind === 'cpu' ? 'cpu' : 'gpu';
    if (out[slot]) {
      if (given) throw new UsageError(`--profile ${file}: a ${slot.toUpperCase()} profile was already given`);
      continue;
    }
    out[slot] = p;
    out.files.push(file);
  }
  return out;
}

export async function readEnv(f: PlannerInputFlags): Promise<{ env: PlanEnv; catalog: PriceCatalog; profileFiles: string[] }> {
  const catalog = await loadCatalog(f.catalog);
  const profiles = await readProfiles(f.profile);
  const env = planEnv({
    cpuProfile: profiles.cpu,
    gpuProfile: profiles.gpu,
    catalog,
    uplinkMbps: f.uplinkMbps,
    downlinkMbps: f.downlinkMbps,
    localUsdPerHour: f.localUsdPerHour,
    accountConcurrency: f.accountConcurrency,
    ec2VcpuQuota: f.ec2VcpuQuota,
    localCores: f.cores ?? (profiles.cpu ? undefined : Math.max(1, cpus().length)),
    localMemoryGB: profiles.cpu ? undefined : totalmem() / 2 ** 30,
    perSampleOverrideS: f.perSampleMs !== undefined ? f.perSampleMs / 1000 : undefined,
  });
  return { env, catalog, profileFiles: profiles.files };
}

/** --platforms: a comma-separated subset of the planner's platforms (default: all of them). */
export function parsePlatforms(list: string | undefined): PlatformName[] {
  if (list === undefined) return [...PLATFORM_NAMES];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!PLATFORM_NAMES.includes(n as PlatformName)) throw new UsageError(`--platforms: unknown platform "${n}" (${PLATFORM_NAMES.join(', ')})`);
  if (!names.length) throw new UsageError('--platforms: give at least one platform');
  return names as PlatformName[];
}
