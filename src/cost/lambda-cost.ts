// Cost of a serverless run, priced the way the AstroMAE-on-Lambda study priced its runs: Lambda duration
// (billed per 1 ms) x memory x GB-second price, Lambda requests, Step Functions state transitions, and S3
// requests when given. Pure: numbers in, an itemised bill out, each item with its arithmetic as text.
import { UsageError } from '../errors.js';
import { priceOf, type PriceCatalog } from './catalog.js';
import { fmtCount, fmtNum, fmtPrice, fmtUsd } from './format.js';

export interface LambdaPrices {
  /** Source of the prices, shown on the bill. */
  source: string;
  gbSecondUsd: number;
  requestsPerMillionUsd: number;
  stateTransitionsPerThousandUsd: number;
  s3GetPerThousandUsd: number;
  s3PutPerThousandUsd: number;
  s3ListPerThousandUsd: number;
  /** Ephemeral storage above the free 512 MB, per GB-second. */
  ephemeralGbSecondUsd: number;
}

/**
 * The prices the study used (Lambda x86_64 and Step Functions standard, us-east-1); S3 and ephemeral
 * storage, which the study did not price, are the us-east-1 list prices.
 */
export const STUDY_PRICES: Readonly<LambdaPrices> = Object.freeze({
  source: 'AstroMAE-on-Lambda study (us-east-1)',
  gbSecondUsd: 0.0000166667,
  requestsPerMillionUsd: 0.2,
  stateTransitionsPerThousandUsd: 0.025,
  s3GetPerThousandUsd: 0.0004,
  s3PutPerThousandUsd: 0.005,
  s3ListPerThousandUsd: 0.005,
  ephemeralGbSecondUsd: 0.0000000309,
});

export type LambdaArchitecture = 'x86_64' | 'arm64';

/** Lambda/Step Functions/S3 prices from a catalog (first-tier prices; a run is far below the tier limits). */
export function pricesFromCatalog(catalog: PriceCatalog, architecture: LambdaArchitecture = 'x86_64'): LambdaPrices {
  return {
    source: `${catalog.file} (${catalog.region}, ${catalog.date})`,
    gbSecondUsd: priceOf(catalog, `lambda.${architecture}.gb_second`, 'USD/GB-s'),
    requestsPerMillionUsd: priceOf(catalog, 'lambda.requests_per_million', 'USD/1M requests'),
    stateTransitionsPerThousandUsd: priceOf(catalog, 'stepfunctions.standard.transitions_per_thousand', 'USD/1K transitions'),
    s3GetPerThousandUsd: priceOf(catalog, 's3.standard.get_per_thousand', 'USD/1K requests'),
    s3PutPerThousandUsd: priceOf(catalog, 's3.standard.put_per_thousand', 'USD/1K requests'),
    s3ListPerThousandUsd: priceOf(catalog, 's3.standard.list_per_thousand', 'USD/1K requests'),
    ephemeralGbSecondUsd: priceOf(catalog, 'lambda.ephemeral_storage.gb_second', 'USD/GB-s'),
  };
}

/** Invocations of one function with one memory size. */
export interface InvocationGroup {
  /** What these invocations are, e.g. "ranks", "initialize". */
  label: string;
  /** Configured memory in GB (Lambda counts MB / 1024; see memoryGBFromMB). */
  memoryGB: number;
  /** Either every invocation lasted `durationMs`... */
  count?: number;
  durationMs?: number;
  /** ...or each invocation's own duration. */
  durationsMs?: readonly number[];
  /** Configured ephemeral storage in MB; the part above 512 MB is billed. */
  ephemeralStorageMB?: number;
}

/** The shape of the state machine run: Initialize -> Map over `mapItems` -> Summarize. */
export interface StateMachineShape {
  mapItems: number;
  /** States each Map item enters (the rank task is 1). Default 1. */
  statesPerItem?: number;
  /** Retried attempts across the run: each retry is one more transition. Default 0. */
  retries?: number;
  /** Whether the run has the Initialize and Summarize states. Default true. */
  initialize?: boolean;
  summarize?: boolean;
}

export interface S3Requests {
  get?: number;
  put?: number;
  list?: number;
}

export interface RunCostInput {
  lambda: readonly InvocationGroup[];
  stateMachine?: StateMachineShape;
  s3?: S3Requests;
}

export interface CostItem {
  /** Stable id: lambda.duration.<label>, lambda.requests, lambda.ephemeral.<label>, stepfunctions.transitions, s3.get, s3.put, s3.list. */
  id: string;
  label: string;
  quantity: number;
  unit: string;
  usd: number;
  /** The arithmetic, e.g. "517 req x 6.55 s x 2.8 GB x 0.0000166667 USD/GB-s = 0.158 USD". */
  arithmetic: string;
}

export interface CostBreakdown {
  currency: 'USD';
  pricesSource: string;
  totalUsd: number;
  items: CostItem[];
  /** "0.158 + 0.000103 + 0.0130 = 0.171 USD" */
  arithmetic: string;
}

/** Lambda's GB for a configured memory size in MB. */
export function memoryGBFromMB(memoryMB: number): number {
  return memoryMB / 1024;
}

/** Lambda bills duration rounded up to the next millisecond. */
export function billedMs(durationMs: number): number {
  // Tolerate float noise such as 6.55 * 1000 = 6550.000000000001.
  return Math.max(0, Math.ceil(durationMs - 1e-6));
}

export interface TransitionCount {
  total: number;
  /** "1 Initialize + 2 Map (start, end) + 517 items x 1 state + 0 retries + 1 Summarize = 521" */
  arithmetic: string;
}

/**
 * State transitions of a standard workflow run. Counting rule: one transition for every state entered —
 * Initialize (1), the Map state (2: entering it and leaving it when all items are done), every Map item's
 * states (mapItems x statesPerItem), one per retry, and Summarize (1).
 */
export function countStateTransitions(shape: StateMachineShape): TransitionCount {
  const items = nonNegInt(shape.mapItems, 'mapItems');
  const per = nonNegInt(shape.statesPerItem ?? 1, 'statesPerItem');
  const retries = nonNegInt(shape.retries ?? 0, 'retries');
  const init = shape.initialize === false ? 0 : 1;
  const summ = shape.summarize === false ? 0 : 1;
  const total = init + 2 + items * per + retries + summ;
  const parts = [
    ...(init ? ['1 Initialize'] : []),
    '2 Map (start, end)',
    `${fmtCount(items)} items x ${per} state${per === 1 ? '' : 's'}`,
    ...(retries ? [`${fmtCount(retries)} retries`] : []),
    ...(summ ? ['1 Summarize'] : []),
  ];
  return { total, arithmetic: `${parts.join(' + ')} = ${fmtCount(total)}` };
}

/** The itemised cost of a run. */
export function lambdaRunCost(input: RunCostInput, prices: LambdaPrices = STUDY_PRICES): CostBreakdown {
  const items: CostItem[] = [];
  let requests = 0;
  for (const g of input.lambda) {
    const { count, billedSeconds, eachSeconds } = groupDurations(g);
    if (count === 0) continue;
    requests += count;
    const gbSeconds = billedSeconds * g.memoryGB;
    const usd = gbSeconds * prices.gbSecondUsd;
    const secondsText = eachSeconds !== undefined ? `${fmtCount(count)} req x ${fmtNum(eachSeconds)} s` : `${fmtCount(count)} req, ${fmtNum(billedSeconds)} s billed in all,`;
    items.push({
      id: `lambda.duration.${g.label}`,
      label: `Lambda compute (${g.label})`,
      quantity: gbSeconds,
      unit: 'GB-s',
      usd,
      arithmetic: `${secondsText} x ${fmtNum(g.memoryGB)} GB x ${fmtPrice(prices.gbSecondUsd)} USD/GB-s = ${fmtUsd(usd)} USD`,
    });
    const extraGB = Math.max(0, (g.ephemeralStorageMB ?? 512) - 512) / 1024;
    if (extraGB > 0) {
      const eUsd = billedSeconds * extraGB * prices.ephemeralGbSecondUsd;
      items.push({
        id: `lambda.ephemeral.${g.label}`,
        label: `Lambda ephemeral storage above 512 MB (${g.label})`,
        quantity: billedSeconds * extraGB,
        unit: 'GB-s',
        usd: eUsd,
        arithmetic: `${fmtNum(billedSeconds)} s x ${fmtNum(extraGB)} GB x ${fmtPrice(prices.ephemeralGbSecondUsd)} USD/GB-s = ${fmtUsd(eUsd)} USD`,
      });
    }
  }
  if (requests > 0) {
    const usd = (requests / 1e6) * prices.requestsPerMillionUsd;
    items.push({
      id: 'lambda.requests',
      label: 'Lambda requests',
      quantity: requests,
      unit: 'requests',
      usd,
      arithmetic: `${fmtCount(requests)} req x ${fmtPrice(prices.requestsPerMillionUsd)} USD / 1,000,000 req = ${fmtUsd(usd)} USD`,
    });
  }
  if (input.stateMachine) {
    const t = countStateTransitions(input.stateMachine);
    const usd = (t.total / 1000) * prices.stateTransitionsPerThousandUsd;
    items.push({
      id: 'stepfunctions.transitions',
      label: 'Step Functions state transitions',
      quantity: t.total,
      unit: 'transitions',
      usd,
      arithmetic: `(${t.arithmetic}) transitions x ${fmtPrice(prices.stateTransitionsPerThousandUsd)} USD / 1,000 = ${fmtUsd(usd)} USD`,
    });
  }
  const s3: [keyof S3Requests, string, number][] = [
    ['get', 'S3 GET requests', prices.s3GetPerThousandUsd],
    ['put', 'S3 PUT requests', prices.s3PutPerThousandUsd],
    ['list', 'S3 LIST requests', prices.s3ListPerThousandUsd],
  ];
  for (const [key, label, perThousand] of s3) {
    const n = nonNegInt(input.s3?.[key] ?? 0, `s3.${key}`);
    if (n === 0) continue;
    const usd = (n / 1000) * perThousand;
    items.push({ id: `s3.${key}`, label, quantity: n, unit: 'requests', usd, arithmetic: `${fmtCount(n)} req x ${fmtPrice(perThousand)} USD / 1,000 req = ${fmtUsd(usd)} USD` });
  }
  const totalUsd = items.reduce((s, i) => s + i.usd, 0);
  return {
    currency: 'USD',
    pricesSource: prices.source,
    totalUsd,
    items,
    arithmetic: `${items.length ? items.map((i) => fmtUsd(i.usd)).join(' + ') : '0'} = ${fmtUsd(totalUsd)} USD`,
  };
}

function groupDurations(g: InvocationGroup): { count: number; billedSeconds: number; eachSeconds?: number } {
  if (!(Number.isFinite(g.memoryGB) && g.memoryGB > 0)) throw new UsageError(`invocation group "${g.label}": memoryGB must be a positive number`);
  if (g.durationsMs) {
    if (g.count !== undefined && g.count !== g.durationsMs.length) {
      throw new UsageError(`invocation group "${g.label}": count ${g.count} differs from ${g.durationsMs.length} durations`);
    }
    let ms = 0;
    for (const d of g.durationsMs) ms += billedMs(nonNegNumber(d, `${g.label} duration`));
    const uniform = g.durationsMs.length > 0 && g.durationsMs.every((d) => billedMs(d) === billedMs(g.durationsMs![0]));
    return { count: g.durationsMs.length, billedSeconds: ms / 1000, eachSeconds: uniform ? billedMs(g.durationsMs[0]) / 1000 : undefined };
  }
  const count = nonNegInt(g.count ?? 0, `${g.label} count`);
  const each = billedMs(nonNegNumber(g.durationMs ?? 0, `${g.label} durationMs`)) / 1000;
  return { count, billedSeconds: count * each, eachSeconds: each };
}

function nonNegInt(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer, got ${n}`);
  return n;
}

function nonNegNumber(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a non-negative number, got ${n}`);
  return n;
}
