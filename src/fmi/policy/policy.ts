// The channel policy: predict every channel for an operation and pick one. Hint `fast` takes the lowest
// predicted latency, `cheap` the lowest total cost (the channel's price plus the functions' GiB-seconds
// spent waiting). Disabled channels are predicted too, so an explanation shows what they would have cost.
import { UsageError } from '../../errors.js';
import { defaultPolicyConfig, POLICY_CHANNELS, type PolicyChannel, type PolicyConfig } from './config.js';
import { predict, type ChannelPrediction, type ModelOptions, type PolicyOp } from './model.js';

export type Hint = 'fast' | 'cheap';
export const HINTS: readonly Hint[] = ['fast', 'cheap'];

export interface Explanation {
  op: PolicyOp;
  bytes: number;
  worldSize: number;
  hint: Hint;
  ranksPerCore: number;
  /** Every channel, in the order tcp, redis, s3. */
  predictions: ChannelPrediction[];
  choice: PolicyChannel;
  /** Why: one sentence per consideration, the decisive one first. */
  reasons: string[];
}

export class ChannelPolicy {
  constructor(readonly config: PolicyConfig = defaultPolicyConfig()) {}

  /** The channel to use for `op` on `bytes` per rank over `worldSize` ranks. */
  choose(op: PolicyOp, bytes: number, worldSize: number, hint: Hint, options: ModelOptions = {}): PolicyChannel {
    return this.explain(op, bytes, worldSize, hint, options).choice;
  }

  explain(op: PolicyOp, bytes: number, worldSize: number, hint: Hint, options: ModelOptions = {}): Explanation {
    if (!HINTS.includes(hint)) throw new UsageError(`unknown hint "${hint}"; use fast or cheap`);
    const predictions = POLICY_CHANNELS.map((c) => predict(this.config, c, op, bytes, worldSize, options));
    const enabled = predictions.filter((p) => p.enabled);
    if (enabled.length === 0) throw new UsageError('no FMI channel is enabled in the channel configuration');
    const key = hint === 'fast' ? (p: ChannelPrediction) => p.latencyMs : (p: ChannelPrediction) => p.totalCostUsd;
    // Ties keep the listed order (tcp, redis, s3): the channel with least infrastructure wins.
    const best = enabled.reduce((a, b) => (key(b) < key(a) ? b : a));
    const others = enabled.filter((p) => p !== best);
    const reasons: string[] = [];
    const measure = hint === 'fast' ? 'predicted latency' : 'predicted total cost';
    const show = (p: ChannelPrediction) => (hint === 'fast' ? fmtMs(p.latencyMs) : fmtUsd(p.totalCostUsd));
    reasons.push(
      others.length
        ? `hint ${hint}: ${best.channel} has the lowest ${measure} (${show(best)} vs ${others.map((p) => `${p.channel} ${show(p)}`).join(', ')})`
        : `hint ${hint}: ${best.channel} is the only enabled channel`,
    );
    reasons.push(
      `${best.channel} runs ${op} as ${best.algorithm}: ${best.rounds} round${best.rounds === 1 ? '' : 's'}, ${best.messages} message${best.messages === 1 ? '' : 's'}` +
        (best.bound === 'server' ? ', bounded by the shared server' : ''),
    );
    for (const p of predictions) if (!p.enabled) reasons.push(`${p.channel} is disabled in the channel configuration`);
    const explanation: Explanation = { op, bytes, worldSize, hint, ranksPerCore: Math.max(1, options.ranksPerCore ?? 1), predictions, choice: best.channel, reasons };
    if (debugEnabled()) process.stderr.write(`fmi policy: ${summarize(explanation)}\n`);
    return explanation;
  }
}

/** Predictions and the choice for one operation under the default (or given) configuration. */
export function explain(op: PolicyOp, bytes: number, worldSize: number, hint: Hint, config?: PolicyConfig, options: ModelOptions = {}): Explanation {
  return new ChannelPolicy(config).explain(op, bytes, worldSize, hint, options);
}

/** CAI_DEBUG is a comma-separated list of topics; "fmi" (or "*", or "1") turns this log on. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const topics = (env.CAI_DEBUG ?? '').split(',').map((s) => s.trim());
  return topics.includes('fmi') || topics.includes('*') || topics.includes('1');
}

/** One line: the question, the choice, and every channel's figures. */
export function summarize(e: Explanation): string {
  const figures = e.predictions
    .map((p) => `${p.channel}${p.enabled ? '' : ' (disabled)'} ${p.algorithm} ${fmtMs(p.latencyMs)} ${fmtUsd(p.totalCostUsd)}`)
    .join('; ');
  return `${e.op} ${e.bytes} B x ${e.worldSize} ranks, hint ${e.hint} -> ${e.choice} (${figures}); ${e.reasons[0]}`;
}

/** A small table for people. */
export function formatExplanation(e: Explanation): string {
  const rows = [
    ['channel', 'enabled', 'algorithm', 'rounds', 'messages', 'latency', 'channel $', 'function $', 'total $'],
    ...e.predictions.map((p) => [
      p.channel,
      p.enabled ? 'yes' : 'no',
      p.algorithm,
      String(p.rounds),
      String(p.messages),
      fmtMs(p.latencyMs),
      fmtUsd(p.channelCostUsd),
      fmtUsd(p.functionCostUsd),
      fmtUsd(p.totalCostUsd),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
  return [
    `${e.op} of ${e.bytes} bytes per rank over ${e.worldSize} ranks (${e.ranksPerCore} rank${e.ranksPerCore === 1 ? '' : 's'} per core), hint ${e.hint}`,
    table,
    `choice: ${e.choice}`,
    ...e.reasons.map((r) => `  - ${r}`),
  ].join('\n');
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(3)} ms`;
}

export function fmtUsd(v: number): string {
  return v === 0 ? '0 USD' : `${v.toPrecision(3)} USD`;
}
