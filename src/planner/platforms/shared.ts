// What several platform models share: partition arithmetic, data gravity (moving the data set to where it
// runs), EC2's per-second billing, and building an itemised bill with its arithmetic.
import { entryOf, fmtCount, fmtNum, fmtPrice, fmtUsd, type CostBreakdown, type CostItem, type PriceCatalog } from '../../cost/index.js';
import type { PlanEnv, Workload } from '../types.js';

/** https://aws.amazon.com/ec2/pricing/on-demand/: Linux on-demand instances are billed per second, "with a minimum of 60 seconds". */
export const EC2_MIN_BILLED_S = 60;
/**
 * Seconds from asking for an instance to its first command: pending to running plus the OS boot. AWS does
 * not document it; 60 s is a modelled figure (instances usually reach running in 10-30 s and boot in 20-40 s).
 */
export const EC2_BOOT_S = 60;
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html: up to 100 Gb/s between one EC2 instance and S3. */
export const S3_MAX_GBPS_PER_INSTANCE = 100;

/**
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html: RunInstances' resource rate limit
 * is a bucket of 1,000 instances refilled at 2 per second.
 */
export const EC2_LAUNCH_BURST = 1000;
export const EC2_LAUNCH_REFILL_PER_S = 2;

export const MB = 1e6;

/** Samples per partition when the data set is cut into `partitionMB` partitions (at least one sample). */
export function samplesPerPartition(w: Workload, partitionMB: number): number {
  return Math.max(1, Math.floor((partitionMB * MB) / w.bytesPerSample));
}

/** The data set's own partition size as the candidates name it (MB, rounded, at least 1). */
export function datasetPartitionMB(w: Workload): number {
  return Math.max(1, Math.round((w.partitionSamples * w.bytesPerSample) / MB));
}

export function partitionsOf(w: Workload, partitionSamples: number): number {
  return Math.ceil(w.samples / partitionSamples);
}

export function datasetBytes(w: Workload): number {
  return w.samples * w.bytesPerSample;
}

/** Seconds to put a local data set into S3 before a cloud run (0 when it is there already). */
export function uploadFirstS(w: Workload, env: PlanEnv): number {
  return w.location === 'local' ? datasetBytes(w) / env.uplinkBytesPerS : 0;
}

/** An itemised bill. */
export function breakdown(items: CostItem[], pricesSource: string): CostBreakdown {
  const totalUsd = items.reduce((s, i) => s + i.usd, 0);
  return { currency: 'USD', pricesSource, totalUsd, items, arithmetic: `${items.length ? items.map((i) => fmtUsd(i.usd)).join(' + ') : '0'} = ${fmtUsd(totalUsd)} USD` };
}

/** K instances billed per second for `seconds` each (at least the minimum). */
export function instanceItem(type: string, count: number, seconds: number, usdPerHour: number): CostItem {
  const billed = Math.max(EC2_MIN_BILLED_S, Math.ceil(seconds - 1e-9));
  const usd = (count * billed * usdPerHour) / 3600;
  return {
    id: `ec2.${type}`,
    label: `EC2 ${type} on-demand`,
    quantity: count * billed,
    unit: 'instance-s',
    usd,
    arithmetic: `${fmtCount(count)} x max(60, ${fmtCount(billed)}) s x ${fmtPrice(usdPerHour)} USD/h / 3600 = ${fmtUsd(usd)} USD`,
  };
}

/** S3 requests of a run that reads `gets` objects and writes `puts`. */
export function s3RequestItems(catalog: PriceCatalog, gets: number, puts: number): CostItem[] {
  const items: CostItem[] = [];
  const get = entryOf(catalog, 's3.standard.get_per_thousand').value;
  const put = entryOf(catalog, 's3.standard.put_per_thousand').value;
  if (gets > 0) items.push({ id: 's3.get', label: 'S3 GET requests', quantity: gets, unit: 'requests', usd: (gets / 1000) * get, arithmetic: `${fmtCount(gets)} req x ${fmtPrice(get)} USD / 1,000 req = ${fmtUsd((gets / 1000) * get)} USD` });
  if (puts > 0) items.push({ id: 's3.put', label: 'S3 PUT requests', quantity: puts, unit: 'requests', usd: (puts / 1000) * put, arithmetic: `${fmtCount(puts)} req x ${fmtPrice(put)} USD / 1,000 req = ${fmtUsd((puts / 1000) * put)} USD` });
  return items;
}

/** Data gravity's bill: uploading a local data set costs its PUTs (transfer in is free). */
export function uploadItems(w: Workload, env: PlanEnv, partitions: number): CostItem[] {
  if (w.location !== 'local') return [];
  return s3RequestItems(env.catalog, 0, partitions).map((i) => ({ ...i, id: 's3.upload.put', label: 'S3 PUT requests (uploading the data set)' }));
}

/** Reading a data set that is in S3 onto this machine: transfer out of S3 to the internet. */
export function egressItem(w: Workload, env: PlanEnv): CostItem[] {
  if (w.location !== 's3') return [];
  const gb = datasetBytes(w) / 1e9;
  const price = entryOf(env.catalog, 's3.data_transfer_out.gb').value;
  return [{ id: 's3.transfer_out', label: 'S3 data transfer out to this machine', quantity: gb, unit: 'GB', usd: gb * price, arithmetic: `${fmtNum(gb, 4)} GB x ${fmtPrice(price)} USD/GB = ${fmtUsd(gb * price)} USD` }];
}

/** "<catalog file> (<region>, <date>)" */
export function catalogSource(catalog: PriceCatalog): string {
  return `${catalog.file} (${catalog.region}, ${catalog.date})`;
}
