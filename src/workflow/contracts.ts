// The versioned JSON contracts of a run: the execution input, the plan, the per-rank result object, the
// Map item outcome, the task outputs and the run summary, and the key layout they are stored under. Every
// object read back from storage is parsed with these schemas.
import { z } from 'zod';
import { DataError } from '../errors.js';
import { safeRelativePath } from '../data/manifest.js';
import { PREDICTIONS_FILE } from '../inference/predictions.js';
import { predictionSchema } from '../planner/prediction.js';
import { DEVICE_CHOICES, MAX_LANES, type DeviceChoice } from '../runtime/devices.js';

export const CONTRACT_VERSION = 1;

/** Run ids become key prefixes: letters, digits, dot, dash, underscore; no leading dot. */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'run id must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit');

const iso = z.string().max(40);
const ms = z.number().finite().nonnegative();
const objectIdText = z.string().regex(/^-?\d+$/);

/** Channels an FMI aggregation can run over, and what a run may ask for. */
export const FMI_AGGREGATION_CHANNELS = ['tcp', 'redis', 's3'] as const;
export type FmiAggregationChannel = (typeof FMI_AGGREGATION_CHANNELS)[number];
export const FMI_CHANNEL_REQUESTS = [...FMI_AGGREGATION_CHANNELS, 'auto'] as const;
export const AGGREGATION_MODES = ['storage', 'fmi'] as const;
export type AggregationMode = (typeof AGGREGATION_MODES)[number];

/**
 * How the ranks' results come together. `storage` (also when absent, as in inputs written before this
 * field existed): Summarize reads every rank object. `fmi`: the ranks gather their results to the first
 * running rank over an FMI channel, and it writes the summary; Summarize only picks that up.
 */
export const aggregationConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('storage') }),
  z.object({
    mode: z.literal('fmi'),
    /** What was asked for; `auto` lets the channel policy choose. */
    channel: z.enum(FMI_CHANNEL_REQUESTS),
    hint: z.enum(['fast', 'cheap']),
    /** Longest a rank waits for the others once its own inference is done, seconds. */
    timeoutS: z.number().int().min(1).max(86_400),
    /** The channel the engine resolved the request to (filled in before the run starts). */
    chosen: z
      .object({
        channel: z.enum(FMI_AGGREGATION_CHANNELS),
        /** Bytes per rank the policy was asked about. */
        gatherBytesPerRank: z.number().int().nonnegative(),
        reason: z.string().max(2000),
      })
      .optional(),
  }),
]);
export type AggregationConfig = z.infer<typeof aggregationConfigSchema>;
export type FmiAggregationConfig = Extract<AggregationConfig, { mode: 'fmi' }>;

/** The run's aggregation mode; inputs without the field are storage runs. */
export function aggregationOf(run: { aggregation?: AggregationConfig }): AggregationConfig {
  return run.aggregation ?? { mode: 'storage' };
}

/** The execution input's `run` object: everything a task needs to know about the run. */
export const runConfigSchema = z.object({
  schemaVersion: z.literal(CONTRACT_VERSION),
  runId: runIdSchema,
  /** 'inference' runs the model; 'no-data' invokes every rank without reading data (orchestration cost). */
  mode: z.enum(['inference', 'no-data']),
  /** Storage URI of the data set root and the manifest key inside it. */
  data: z.object({ uri: z.string().min(1).max(2048), manifestKey: safeRelativePath }),
  /** Storage URI under which results/<runId>/ is written. */
  results: z.object({ uri: z.string().min(1).max(2048) }),
  /** Model file as every instance sees it (a path on the instance). */
  model: z.object({ path: z.string().min(1).max(4096) }),
  worldSize: z.number().int().min(1).max(100_000),
  concurrency: z.number().int().min(1).max(100_000),
  batchSize: z.number().int().min(1).max(65_536),
  threads: z.number().int().min(1).max(1024),
  memoryMb: z.number().int().min(128).max(1_048_576),
  timeoutS: z.number().int().min(1).max(86_400),
  readAhead: z.number().int().min(0).max(16),
  toleratedFailurePercentage: z.number().int().min(0).max(100),
  /** Whether Summarize renders the HTML/PNG report. */
  report: z.boolean(),
  /** When the run was submitted (the wall time of the whole run starts here). */
  submittedAt: iso,
  /** Optional, so run inputs written before it existed stay valid: absent means `storage`. */
  aggregation: aggregationConfigSchema.optional(),
  /** Where the ranks run the model: a device or auto. Absent (inputs written before it existed): cpu. */
  device: z.enum(DEVICE_CHOICES as [DeviceChoice, ...DeviceChoice[]]).optional(),
  /** GPUs the instances spread over (each worker slot keeps one: slot modulo this); absent: 1. */
  gpus: z.union([z.number().int().min(1).max(MAX_LANES), z.literal('all')]).optional(),
  /** Sessions in flight on an instance's GPU; absent: the device's default. */
  sessionsPerGpu: z.number().int().min(1).max(MAX_LANES).optional(),
  /** What the planner predicted for this run (`cai run --auto`); Summarize copies it into the summary. */
  prediction: predictionSchema.optional(),
  /**
   * The run lock of the coordinator that runs this attempt (workflow/run-lock.ts): its instances write into
   * the run only while results/<run>/run.lock still holds this token. Absent where no coordinator locks.
   */
  lock: z.object({ token: z.string().regex(/^[0-9a-f]{32}$/) }).optional(),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

export const partitionRefSchema = z.object({
  path: safeRelativePath,
  samples: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  firstObjectId: objectIdText.optional(),
  lastObjectId: objectIdText.optional(),
});
export type PartitionRef = z.infer<typeof partitionRefSchema>;

export const rankAssignmentSchema = z.object({
  rank: z.number().int().nonnegative(),
  partitions: z.array(partitionRefSchema),
  samples: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type RankAssignment = z.infer<typeof rankAssignmentSchema>;

/** results/<run>/plan.json: the assignment every rank and Summarize read; fixed for the life of a run id. */
export const planSchema = z.object({
  schemaVersion: z.literal(CONTRACT_VERSION),
  kind: z.literal('cai-run-plan'),
  runId: runIdSchema,
  mode: z.enum(['inference', 'no-data']),
  worldSize: z.number().int().min(1),
  manifest: z.object({ location: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), samples: z.number().int().nonnegative(), partitions: z.number().int().nonnegative(), bytes: z.number().int().nonnegative(), labelled: z.boolean() }),
  ranks: z.array(rankAssignmentSchema),
  createdAt: iso,
});
export type Plan = z.infer<typeof planSchema>;

/** Initialize's output (state `$.plan`): small, so it fits any payload limit. */
export const planRefSchema = z.object({
  planKey: z.string().min(1),
  worldSize: z.number().int().min(1),
  pending: z.array(z.object({ rank: z.number().int().nonnegative() })),
  /** Ranks whose verified results from an earlier attempt of this run id are kept. */
  reused: z.array(z.number().int().nonnegative()),
  initializeMs: ms,
  /** FMI runs: this attempt's aggregation object (members, attempt id). */
  aggregation: z.object({ key: z.string().min(1), attempt: z.string().regex(/^[0-9a-f]{8,64}$/) }).optional(),
});
export type PlanRef = z.infer<typeof planRefSchema>;

/**
 * results/<run>/aggregation.json, written by Initialize for an FMI run: who forms this attempt's
 * communicator (the ranks that run; their order is the communicator's rank order, the first is the root).
 */
export const aggregationPlanSchema = z.object({
  schemaVersion: z.literal(CONTRACT_VERSION),
  kind: z.literal('cai-run-aggregation'),
  runId: runIdSchema,
  /** Fresh per attempt: names the communicator's run, so frames of an earlier attempt are refused. */
  attempt: z.string().regex(/^[0-9a-f]{8,64}$/),
  channel: z.enum(FMI_AGGREGATION_CHANNELS),
  members: z.array(z.number().int().nonnegative()),
  reused: z.array(z.number().int().nonnegative()),
  initializeMs: ms,
  createdAt: iso,
});
export type AggregationPlan = z.infer<typeof aggregationPlanSchema>;

/** One Map item's input. */
export const rankEventSchema = z.object({ run: runConfigSchema, planKey: z.string().min(1), rank: z.number().int().nonnegative() });
export type RankEvent = z.infer<typeof rankEventSchema>;

export const rankPartitionResultSchema = z.object({
  path: safeRelativePath,
  samples: z.number().int().nonnegative(),
  firstObjectId: objectIdText.optional(),
  lastObjectId: objectIdText.optional(),
  downloadMs: ms,
  waitMs: ms,
  inferenceMs: ms,
});

const shortText = z.string().max(400);

/** A GPU adapter as the engine names it (runtime/adapters.ts), read back from a rank result. */
export const adapterSchema = z.object({
  index: z.number().int().nonnegative(),
  name: shortText,
  type: z.enum(['discrete', 'integrated', 'virtual', 'cpu', 'other']),
  software: z.boolean(),
  backend: z.literal('vulkan'),
  vendorId: shortText,
  deviceId: shortText,
  apiVersion: shortText.optional(),
  driverName: shortText.optional(),
  driverInfo: shortText.optional(),
  pciAddress: shortText.optional(),
  limits: z.object({
    maxStorageBufferRange: z.number().optional(),
    maxComputeSharedMemorySize: z.number().optional(),
    maxComputeWorkGroupInvocations: z.number().optional(),
    maxComputeWorkGroupSize: z.array(z.number()).max(8).optional(),
    maxComputeWorkGroupCount: z.array(z.number()).max(8).optional(),
    maxMemoryAllocationCount: z.number().optional(),
    deviceLocalBytes: z.number().optional(),
  }),
});

/** Where a rank's model ran (inference/metrics.ts PlacementMetrics). */
export const placementSchema = z.object({
  adapters: z.array(adapterSchema).max(MAX_LANES),
  adapterSource: z.string().max(400).nullable(),
  gpus: z.number().int().nonnegative(),
  sessionsPerGpu: z.number().int().nonnegative(),
  sessions: z.number().int().nonnegative(),
  deviceChoice: z.string().max(4000).nullable(),
  firstSessionOpenS: z.number().nonnegative(),
  firstSessionWarmUpS: z.number().nonnegative(),
  laterSessionsOpenS: z.array(z.number().nonnegative()).max(MAX_LANES * MAX_LANES),
  laterSessionsWarmUpS: z.array(z.number().nonnegative()).max(MAX_LANES * MAX_LANES),
});

/** How a session found its model in the optimized-model cache (inference/session-cache.ts). */
export const CACHE_OUTCOMES = ['hit', 'portable', 'written', 'unstored', 'off'] as const;

/**
 * Where a rank's cold start went, and how much of it the invocation waited for. The instance's own parts
 * (process, code, session host, model read, session creation) add up to about coldStartMs; the waits are
 * what the invocation paid beyond a warm one: none of a start-up that happened ahead of it, and of the
 * model's open only what the first partition, once loaded, still waited.
 */
export const coldStartPartsSchema = z.object({
  /** The process up and the runtime booted, until the handlers' code began to load. */
  processMs: ms,
  /** Loading the handlers' code. */
  codeMs: ms,
  /** The session host's start: its thread or process, and onnxruntime loaded in it. */
  sessionHostMs: ms,
  /** Identifying the model and reading what the session loads (the cached optimized graph on a hit). */
  modelReadMs: ms,
  /** onnxruntime's session creation. */
  sessionCreateMs: ms,
  cache: z.enum(CACHE_OUTCOMES),
  /** The instance was started, and its model opened, ahead of this invocation. */
  prestarted: z.boolean(),
  startWaitMs: ms,
  modelWaitMs: ms,
  /** startWaitMs + modelWaitMs: the cold start this invocation paid. */
  waitedMs: ms,
});
export type ColdStartParts = z.infer<typeof coldStartPartsSchema>;

/** One cold start in the summary: coldStartPartsSchema's parts in seconds. */
export const coldStartPartsSecondsSchema = z.object({
  processS: z.number(),
  codeS: z.number(),
  sessionHostS: z.number(),
  modelReadS: z.number(),
  sessionCreateS: z.number(),
  waitedS: z.number(),
  cache: z.enum(CACHE_OUTCOMES),
  prestarted: z.boolean(),
});
export type ColdStartPartsSeconds = z.infer<typeof coldStartPartsSecondsSchema>;

/** The run's cold instances: how many, the mean of each part (seconds), and the cache outcomes counted. */
export const coldStartsSummarySchema = z.object({
  instances: z.number().int().nonnegative(),
  meanS: z.number(),
  meanPartsS: coldStartPartsSecondsSchema.omit({ cache: true, prestarted: true }),
  cache: z.record(z.enum(CACHE_OUTCOMES), z.number().int().nonnegative()),
});
export type ColdStartsSummary = z.infer<typeof coldStartsSummarySchema>;

/** CAI performance fields of one rank (same meanings as the original study's result JSON). */
export const rankPerformanceSchema = z.object({
  device: z.string(),
  batchSize: z.number().int(),
  numBatches: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  inputBytes: z.number().nonnegative(),
  totalTimeS: z.number().nonnegative(),
  timePerBatchS: z.number().nullable(),
  throughputBps: z.number().nullable(),
  samplesPerS: z.number().nullable(),
  wallTimeS: z.number().nonnegative(),
  endToEndSamplesPerS: z.number().nullable(),
  ioTimeS: z.number().nullable(),
  peakMemoryMB: z.number().nonnegative(),
  /** The (first) GPU adapter the model ran on; null on CPU and CUDA; absent in results written before it existed. */
  adapter: adapterSchema.nullable().optional(),
  placement: placementSchema.optional(),
});
export type RankPerformance = z.infer<typeof rankPerformanceSchema>;

/** results/<run>/rank-00003.json */
export const rankResultSchema = z.object({
  schemaVersion: z.literal(CONTRACT_VERSION),
  kind: z.literal('cai-rank-result'),
  runId: runIdSchema,
  rank: z.number().int().nonnegative(),
  status: z.literal('succeeded'),
  partitions: z.array(rankPartitionResultSchema),
  samples: z.number().int().nonnegative(),
  predictions: z.object({ key: z.string().min(1), rows: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }),
  performance: rankPerformanceSchema,
  /** The same figures under the original CAI field names. */
  cai: z.record(z.union([z.number(), z.string(), z.null()])),
  timings: z.object({
    startedAt: iso,
    finishedAt: iso,
    coldStart: z.boolean(),
    /** Instance start-up (process + code load) plus model load; 0 when warm. */
    coldStartMs: ms,
    initMs: ms,
    modelLoadMs: ms,
    downloadMs: ms,
    waitMs: ms,
    inferenceMs: ms,
    uploadMs: ms,
    totalMs: ms,
    /** On a cold start: its parts and what the invocation waited for (absent in results written before it existed). */
    coldStartParts: coldStartPartsSchema.optional(),
  }),
  memory: z.object({ peakRssMB: z.number().nonnegative(), limitMB: z.number().int().positive() }),
  /** slot: the instance's place in its pool (0 to concurrency - 1), which fixes its GPU; absent where the platform has none. */
  instance: z.object({ id: z.string().max(200), invocation: z.number().int().positive(), slot: z.number().int().nonnegative().optional() }),
});
export type RankResult = z.infer<typeof rankResultSchema>;

/** A Map item's output: a pointer to the result object, or the failure the Catch recorded. */
/** What a rank of an FMI run did in the aggregation (its own results are stored either way). */
export const rankAggregationSchema = z.object({
  /** root: gathered and wrote the summary; member: sent its results to the root. */
  role: z.enum(['root', 'member']),
  status: z.enum(['written', 'sent', 'failed']),
  /** Error name and one-line message when it failed (a deadline names the rank it waited for). */
  error: z.string().max(200).optional(),
  message: z.string().max(4000).optional(),
  /** From the end of this rank's inference to the end of its part in the aggregation. */
  ms: ms,
});
export type RankAggregation = z.infer<typeof rankAggregationSchema>;

export const rankOutcomeSchema = z.discriminatedUnion('status', [
  z.object({
    rank: z.number().int().nonnegative(),
    status: z.literal('succeeded'),
    resultKey: z.string().min(1).nullable(),
    samples: z.number().int().nonnegative(),
    totalMs: ms,
    aggregation: rankAggregationSchema.optional(),
  }),
  z.object({ rank: z.number().int().nonnegative(), status: z.literal('failed'), error: z.string(), cause: z.unknown() }),
]);
export type RankOutcome = z.infer<typeof rankOutcomeSchema>;

export const summarizeInputSchema = z.object({ run: runConfigSchema, plan: planRefSchema, outcomes: z.array(rankOutcomeSchema) });
export type SummarizeInput = z.infer<typeof summarizeInputSchema>;

const runStatus = z.enum(['complete', 'partial', 'failed']);

/** Summarize's output: where summary.json is (the execution's output when no report follows). */
export const summarizeOutputSchema = z.object({ runId: runIdSchema, status: runStatus, summary: z.string() });
export type SummarizeOutput = z.infer<typeof summarizeOutputSchema>;

/** The Report task's input: the run and what Summarize returned. */
export const reportInputSchema = z.object({ run: runConfigSchema, summary: summarizeOutputSchema });
export type ReportInput = z.infer<typeof reportInputSchema>;

/**
 * The Report task's output (the execution's output when a report was asked for): Summarize's output plus
 * where the page is, or null and why not. A failed report never fails the run; it is recorded here.
 */
export const reportOutputSchema = summarizeOutputSchema.extend({
  report: z.string().nullable(),
  reportError: z.object({ error: z.string(), cause: z.unknown() }).optional(),
});
export type ReportOutput = z.infer<typeof reportOutputSchema>;

const nullableNum = z.number().nullable();

export const summarySchema = z.object({
  schemaVersion: z.literal(CONTRACT_VERSION),
  kind: z.literal('cai-run-summary'),
  runId: runIdSchema,
  /** complete: every rank succeeded; partial: some failed within the tolerance; failed: beyond it. */
  status: runStatus,
  submittedAt: iso,
  finishedAt: iso,
  wallTimeS: z.number().nonnegative(),
  configuration: z.object({
    mode: z.enum(['inference', 'no-data']),
    data: z.string(),
    results: z.string(),
    model: z.string(),
    worldSize: z.number().int(),
    concurrency: z.number().int(),
    batchSize: z.number().int(),
    threadsPerInstance: z.number().int(),
    memoryMb: z.number().int(),
    timeoutS: z.number().int(),
    toleratedFailurePercentage: z.number().int(),
    backend: z.string(),
    /** The device the run asked for, the GPUs it spread over and the sessions per GPU (absent in older summaries). */
    device: z.string().optional(),
    gpus: z.union([z.number().int(), z.literal('all')]).optional(),
    sessionsPerGpu: z.number().int().optional(),
    /** How results were aggregated and, for FMI, the channel chosen and why (absent in older summaries). */
    aggregation: z
      .object({
        mode: z.enum(AGGREGATION_MODES),
        channel: z.enum(FMI_AGGREGATION_CHANNELS).optional(),
        requestedChannel: z.enum(FMI_CHANNEL_REQUESTS).optional(),
        hint: z.enum(['fast', 'cheap']).optional(),
        timeoutS: z.number().int().optional(),
        reason: z.string().optional(),
      })
      .optional(),
  }),
  dataset: z.object({ samples: z.number().int(), partitions: z.number().int(), bytes: z.number().int(), labelled: z.boolean() }),
  accuracy: z
    .object({
      count: z.number().int(),
      mae: nullableNum,
      mse: nullableNum,
      biasMean: nullableNum,
      biasMedian: nullableNum,
      sigmaNmad: nullableNum,
      sigmaIqr: nullableNum,
      r2: nullableNum,
      outlierRate: nullableNum,
      outlierRateRail: nullableNum,
      outlierThresholdRail: nullableNum,
    })
    .nullable(),
  performance: z.object({
    /** The cold instances' start-ups, part by part (absent in older summaries and runs with no cold instance). */
    coldStarts: coldStartsSummarySchema.optional(),
    total: z.object({
      samples: z.number().int(),
      /** Sum over ranks of model time, seconds. */
      inferenceS: z.number(),
      downloadS: z.number(),
      uploadS: z.number(),
      coldStartS: z.number(),
      /** Of the cold starts, what the invocations waited for (coldStartParts.waitedMs summed; absent in older summaries). */
      coldStartWaitS: z.number().optional(),
      /** Samples per second of run wall time. */
      samplesPerS: nullableNum,
      /** Bits of model input per second of run wall time. */
      throughputBps: nullableNum,
      peakRssMB: z.number(),
    }),
    ranks: z.array(
      z.object({
        rank: z.number().int(),
        samples: z.number().int(),
        partitions: z.number().int(),
        coldStart: z.boolean(),
        coldStartS: z.number(),
        downloadS: z.number(),
        inferenceS: z.number(),
        uploadS: z.number(),
        totalS: z.number(),
        peakRssMB: z.number(),
        samplesPerS: nullableNum,
        reused: z.boolean(),
        /** Where the rank's model ran: the device, the adapter's name (GPU), the instance's slot (absent in older summaries). */
        device: z.string().optional(),
        adapter: z.string().nullable().optional(),
        slot: z.number().int().optional(),
        coldStartWaitS: z.number().optional(),
        /** On a cold start: where it went, seconds, and how the session found its model. */
        coldStartParts: coldStartPartsSecondsSchema.optional(),
      }),
    ),
    slowestRank: z.object({ rank: z.number().int(), totalS: z.number() }).nullable(),
  }),
  invocations: z.object({
    total: z.number().int(),
    ranks: z.number().int(),
    retries: z.number().int(),
    coldStarts: z.number().int(),
    reusedRanks: z.number().int(),
    /** Invocations that ended by a crash, timeout or memory limit. */
    crashed: z.number().int(),
  }),
  cost: z.unknown().nullable(),
  ranks: z.object({
    succeeded: z.array(z.number().int()),
    reused: z.array(z.number().int()),
    failed: z.array(z.object({ rank: z.number().int(), error: z.string(), cause: z.string(), partitions: z.array(z.string()), samples: z.number().int() })),
  }),
  accounting: z.object({
    manifestSamples: z.number().int(),
    predictedSamples: z.number().int(),
    /** Samples in partitions of failed ranks. */
    missingSamples: z.number().int(),
    duplicateObjectIds: z.number().int(),
    /** Partitions whose predicted count or first/last object id disagrees with the manifest. */
    mismatchedPartitions: z.array(z.string()),
    /** True when every sample of every successful rank's partitions appears exactly once. */
    exactlyOnce: z.boolean(),
    statement: z.string(),
  }),
  outputs: z.object({ summary: z.string(), predictions: z.string(), report: z.string().nullable() }),
  /** FMI runs: how the aggregation went. */
  aggregation: z
    .object({
      mode: z.literal('fmi'),
      channel: z.enum(FMI_AGGREGATION_CHANNELS),
      attempt: z.string(),
      /** aggregated: the root rank wrote this summary from what the ranks sent; fell-back: Summarize read the rank objects; skipped: no rank ran. */
      status: z.enum(['aggregated', 'fell-back', 'skipped']),
      /** Who merged the predictions and wrote the summary. */
      summarizedBy: z.string(),
      /** Ranks in the communicator (the ranks this attempt ran). */
      ranks: z.number().int().nonnegative(),
      /** Bytes the root received, and how long it waited after its own inference until it held every rank's results. */
      bytesGathered: z.number().int().nonnegative().nullable(),
      gatherMs: z.number().nonnegative().nullable(),
      errors: z.array(z.object({ rank: z.number().int(), error: z.string(), message: z.string() })),
    })
    .optional(),
  /**
   * A planned run's prediction (wall_s, cost_usd, what it was based on), beside the measured figures above;
   * absent for runs nobody planned and in summaries written before the field existed.
   */
  prediction: predictionSchema.optional(),
});
export type Summary = z.infer<typeof summarySchema>;

/** Parse JSON bytes with a schema; problems become one DataError line naming the object. */
export function parseContract<T>(schema: z.ZodType<T>, bytes: Uint8Array | string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new DataError(where, `not valid JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new DataError(where, `invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Largest objects of each kind read back, checked before reading: a plan and a summary hold a row per rank
 * (as large as the largest manifest), a rank result is a few KB.
 */
export const MAX_PLAN_BYTES = 256 * 1024 * 1024;
export const MAX_SUMMARY_BYTES = MAX_PLAN_BYTES;
export const MAX_RESULT_BYTES = 16 * 1024 * 1024;

/** File names inside a run's directory (results/<run>/), the one place they are spelled. */
export const RESULT_FILES = {
  plan: 'plan.json',
  aggregation: 'aggregation.json',
  lock: 'run.lock',
  summary: 'summary.json',
  predictions: PREDICTIONS_FILE,
  rank: (rank: number): string => `rank-${String(rank).padStart(5, '0')}.json`,
  rankPredictions: (rank: number): string => `rank-${String(rank).padStart(5, '0')}.predictions.csv`,
  /** The report's folder, and its page inside it. */
  reportDir: 'report/',
  reportPage: 'report.html',
} as const;

/** Key layout under a results root, the same on disk and in a bucket. */
export const resultKeys = {
  dir: (runId: string): string => `results/${runId}/`,
  plan: (runId: string): string => resultKeys.dir(runId) + RESULT_FILES.plan,
  aggregation: (runId: string): string => resultKeys.dir(runId) + RESULT_FILES.aggregation,
  lock: (runId: string): string => resultKeys.dir(runId) + RESULT_FILES.lock,
  rank: (runId: string, rank: number): string => resultKeys.dir(runId) + RESULT_FILES.rank(rank),
  rankPredictions: (runId: string, rank: number): string => resultKeys.dir(runId) + RESULT_FILES.rankPredictions(rank),
  summary: (runId: string): string => resultKeys.dir(runId) + RESULT_FILES.summary,
  predictions: (runId: string): string => resultKeys.dir(runId) + RESULT_FILES.predictions,
  report: (runId: string): string => resultKeys.dir(runId) + RESULT_FILES.reportDir,
  reportPage: (runId: string): string => resultKeys.report(runId) + RESULT_FILES.reportPage,
};
