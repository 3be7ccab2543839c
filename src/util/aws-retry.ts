// How every AWS client of the project retries: the SDK's own standard strategy (exponential backoff with
// full jitter; throttling errors such as SlowDown, ThrottlingException, TooManyRequestsException and
// RequestLimitExceeded back off from a longer base than other transient errors) with more attempts than
// the SDK's 3, because a run's many small requests meet throttling far more often than one call does.
// AWS_MAX_ATTEMPTS and AWS_RETRY_MODE, when set, are the SDK's to read and win over these defaults.

/** Attempts per request (the first one included) unless the caller or $AWS_MAX_ATTEMPTS says otherwise. */
export const DEFAULT_AWS_MAX_ATTEMPTS = 6;
/** The SDK's standard mode; `adaptive` (a client-side rate limiter on top) is one AWS_RETRY_MODE away. */
export const DEFAULT_AWS_RETRY_MODE = 'standard';

export interface AwsRetryConfig {
  maxAttempts?: number;
  retryMode?: string;
}

/** The retry settings of a client: `maxAttempts` if given, else the environment's, else the defaults. */
export function awsRetryConfig(maxAttempts?: number, env: NodeJS.ProcessEnv = process.env): AwsRetryConfig {
  const attempts = maxAttempts ?? (env.AWS_MAX_ATTEMPTS ? undefined : DEFAULT_AWS_MAX_ATTEMPTS);
  return {
    ...(attempts !== undefined ? { maxAttempts: attempts } : {}),
    ...(env.AWS_RETRY_MODE ? {} : { retryMode: DEFAULT_AWS_RETRY_MODE }),
  };
}

/** " after 6 attempts over 4.2 s" for an error the SDK gave up on after retrying; "" when it tried once. */
export function retriesText(err: unknown): string {
  const meta = (err as { $metadata?: { attempts?: number; totalRetryDelay?: number } })?.$metadata;
  if (!meta?.attempts || meta.attempts < 2) return '';
  const delay = meta.totalRetryDelay !== undefined ? ` over ${(meta.totalRetryDelay / 1000).toFixed(1)} s of backoff` : '';
  return ` after ${meta.attempts} attempts${delay}`;
}
