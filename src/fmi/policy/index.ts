export {
  POLICY_CHANNELS,
  DEFAULT_POLICY_CONFIG,
  defaultPolicyConfig,
  parsePolicyConfig,
  loadPolicyConfig,
  policyConfigSchema,
  channelModelSchema,
  MAX_POLICY_FILE_BYTES,
} from './config.js';
export type { PolicyChannel, PolicyConfig, PolicyConfigInput, PolicyModel, ChannelModel } from './config.js';
export { predict, traffic, pollSchedule, binomialItemsMoved, POLICY_OPS } from './model.js';
export type { PolicyOp, Traffic, ModelOptions, ChannelPrediction } from './model.js';
export { ChannelPolicy, explain, summarize, formatExplanation, debugEnabled, HINTS, fmtMs, fmtUsd } from './policy.js';
export type { Hint, Explanation } from './policy.js';
export { openConfiguredChannel, operationTimeoutMs } from './open.js';
export type { OpenConfiguredOptions } from './open.js';
