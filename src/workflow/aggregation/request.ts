// The aggregation part of a run request as a user gives it (flag text), checked before anything slow
// starts: the mode, the FMI channel and hint, and that the FMI settings come only with FMI aggregation.
// Pure: it reads neither the environment nor the network.
import { UsageError } from '../../errors.js';
import type { RunRequest } from '../run-config.js';

export const AGGREGATION_MODES = ['storage', 'fmi'] as const;
export const FMI_CHANNEL_CHOICES = ['tcp', 'redis', 's3', 'auto'] as const;
export const FMI_HINTS = ['fast', 'cheap'] as const;

export interface AggregationValues {
  aggregation?: string;
  fmiChannel?: string;
  fmiHint?: string;
  fmiTimeoutS?: number;
  /** Given only to check that it comes with FMI aggregation; the engine takes the URL itself. */
  redisUrl?: string;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value !== undefined && !allowed.includes(value as T)) throw new UsageError(`--${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got "${value}"`);
  return value as T | undefined;
}

export function checkAggregationRequest(v: AggregationValues): Pick<RunRequest, 'aggregation' | 'fmiChannel' | 'fmiHint' | 'fmiTimeoutS'> {
  const aggregation = oneOf('aggregation', v.aggregation, AGGREGATION_MODES);
  const fmiChannel = oneOf('fmi-channel', v.fmiChannel, FMI_CHANNEL_CHOICES);
  const fmiHint = oneOf('fmi-hint', v.fmiHint, FMI_HINTS);
  if (aggregation !== 'fmi' && (fmiChannel || fmiHint || v.fmiTimeoutS !== undefined || v.redisUrl))
    throw new UsageError('--fmi-channel, --fmi-hint, --fmi-timeout-s and --redis-url apply to --aggregation fmi');
  return { aggregation, fmiChannel, fmiHint, fmiTimeoutS: v.fmiTimeoutS };
}
