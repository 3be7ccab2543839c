// The price catalog: a dated, editable JSON file of cloud prices, each with its unit and source.
// Parsing takes text and a name for messages; only loadCatalog touches the file system.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DataError } from '../errors.js';
import { parseJsonAs, regularFileSize } from '../util/checked-file.js';

/** The catalog shipped with the package (catalog/aws-prices.json at the package root). */
export const DEFAULT_CATALOG_PATH = fileURLToPath(new URL('../../catalog/aws-prices.json', import.meta.url));
/** A real catalog is a few KB; refuse anything far larger before reading it. */
export const MAX_CATALOG_BYTES = 1 << 20;

const price = z.number().finite().nonnegative();

const tierSchema = z
  .object({
    /** Upper bound of the tier in the entry's usage unit (GB-s, GB-h, GB-month); null = no bound. */
    upTo: z.number().finite().positive().nullable(),
    value: price,
  })
  .strict();

/**
 * What an EC2 instance type offers, beside its hourly price: the planner's gpu and ec2 platforms read it.
 * Figures are the instance-type page's (vCPUs, memory, network bandwidth, GPUs) and, for the GPU's FP32
 * throughput, the vendor's data sheet named in `specSource`.
 */
export const instanceSpecSchema = z
  .object({
    vcpus: z.number().int().positive().max(4096),
    memoryGiB: z.number().finite().positive().max(1 << 16),
    /** Network bandwidth in Gbit/s ("up to" figures are taken as given). */
    networkGbps: z.number().finite().positive().max(10_000),
    gpus: z.number().int().positive().max(64).optional(),
    gpuModel: z.string().min(1).max(64).optional(),
    /** Peak FP32 throughput of one GPU, TFLOPS. */
    gpuFp32Tflops: z.number().finite().positive().max(10_000).optional(),
    gpuMemoryGiB: z.number().finite().positive().max(1 << 12).optional(),
    specSource: z.string().min(1).max(500),
  })
  .strict()
  .superRefine((s, ctx) => {
    const gpuFields = [s.gpus, s.gpuModel, s.gpuFp32Tflops].filter((v) => v !== undefined).length;
    if (gpuFields !== 0 && gpuFields !== 3) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a GPU instance needs gpus, gpuModel and gpuFp32Tflops together' });
  });

export const priceEntrySchema = z
  .object({
    value: price,
    unit: z.string().min(1).max(64),
    source: z.string().min(1).max(500),
    note: z.string().max(1000).optional(),
    /** The day this entry was transcribed, when it differs from the catalog's date. */
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD').optional(),
    tiers: z.array(tierSchema).min(1).max(16).optional(),
    instance: instanceSpecSchema.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.tiers) return;
    for (let i = 1; i < e.tiers.length; i++) {
      const prev = e.tiers[i - 1].upTo;
      const cur = e.tiers[i].upTo;
      if (prev === null || (cur !== null && cur <= prev)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tiers', i], message: 'tiers must have increasing upTo, only the last may be null' });
      }
    }
  });

export const catalogSchema = z
  .object({
    format: z.literal('cai-price-catalog'),
    version: z.literal(1),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be a 3-letter code such as USD'),
    region: z.string().min(1).max(64),
    note: z.string().max(4000).optional(),
    entries: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'entry ids are lower-case words joined by . _ -'), priceEntrySchema),
  })
  .strict();

export type PriceEntry = z.infer<typeof priceEntrySchema>;
export type InstanceSpec = z.infer<typeof instanceSpecSchema>;
export type PriceCatalog = z.infer<typeof catalogSchema> & { /** where it was read from */ file: string };

/** Parse catalog text; any problem becomes one DataError line naming `file` and the first offending field. */
export function parseCatalog(text: string, file: string): PriceCatalog {
  return { ...parseJsonAs(catalogSchema, text, file, 'price catalog'), file };
}

/** Read and validate a catalog; the shipped one when `path` is not given. */
export async function loadCatalog(path: string = DEFAULT_CATALOG_PATH): Promise<PriceCatalog> {
  const size = await regularFileSize(path, 'price catalog', (why) => new DataError(path, why));
  if (size > MAX_CATALOG_BYTES) throw new DataError(path, `price catalog is ${size} bytes, more than the ${MAX_CATALOG_BYTES} allowed`);
  return parseCatalog(await readFile(path, 'utf8'), path);
}

/** One entry, or a DataError naming the catalog and the missing id. */
export function entryOf(catalog: PriceCatalog, id: string): PriceEntry {
  const e = Object.hasOwn(catalog.entries, id) ? catalog.entries[id] : undefined;
  if (!e) throw new DataError(catalog.file, `price catalog has no entry "${id}"`);
  return e;
}

/** The value of one entry, checking its unit so that an edited catalog cannot silently change meaning. */
export function priceOf(catalog: PriceCatalog, id: string, expectUnit?: string): number {
  const e = entryOf(catalog, id);
  if (expectUnit !== undefined && e.unit !== expectUnit) {
    throw new DataError(catalog.file, `entry "${id}" has unit "${e.unit}", expected "${expectUnit}"`);
  }
  return e.value;
}

/**
 * Cost of `usage` units under a tiered price (tiers are per month; usage is assumed to be the month's first).
 * Without tiers it is usage x value.
 */
export function tieredCost(entry: PriceEntry, usage: number): number {
  if (!entry.tiers) return usage * entry.value;
  let cost = 0;
  let floor = 0;
  for (const t of entry.tiers) {
    const ceiling = t.upTo ?? Infinity;
    if (usage <= floor) break;
    cost += (Math.min(usage, ceiling) - floor) * t.value;
    floor = ceiling;
  }
  return cost;
}

/** An EC2 instance type the catalog prices and describes. */
export interface CatalogInstance {
  /** e.g. "g5.xlarge" */
  type: string;
  usdPerHour: number;
  spec: InstanceSpec;
  /** "<price page> (<date>)" */
  source: string;
}

/** Every `ec2.<type>.hour` entry that carries an instance description, GPU instances when `gpu`, CPU ones otherwise. */
export function ec2Instances(catalog: PriceCatalog, kind: 'gpu' | 'cpu'): CatalogInstance[] {
  const out: CatalogInstance[] = [];
  for (const [id, e] of Object.entries(catalog.entries)) {
    const m = /^ec2\.(.+)\.hour$/.exec(id);
    if (!m || !e.instance || e.unit !== 'USD/h') continue;
    if ((e.instance.gpus !== undefined) !== (kind === 'gpu')) continue;
    out.push({ type: m[1], usdPerHour: e.value, spec: e.instance, source: `${e.source} (${e.date ?? catalog.date})` });
  }
  return out;
}
