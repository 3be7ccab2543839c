// The S3 storage backend: s3://bucket/prefix is a key prefix in a bucket. The endpoint, region and
// credentials come from the options or the AWS SDK's usual environment.
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { StorageBackend } from '../types.js';
import { S3Storage, isS3Uri, parseS3Uri } from './s3-storage.js';

export interface S3OpenOptions {
  /** Default: env AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL; none means AWS itself. */
  endpoint?: string;
  /** Default: env AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1. */
  region?: string;
  /** Default: the SDK's chain (environment, profile, instance role). */
  credentials?: S3ClientConfig['credentials'];
  /** Attempts per request, the first included (default: $AWS_MAX_ATTEMPTS, else util/aws-retry.ts's). */
  maxAttempts?: number;
}

export const s3StorageBackend: StorageBackend<S3OpenOptions> = {
  kind: 's3',
  uriForms: ['s3://bucket/prefix'],
  claims: isS3Uri,
  normalize: (uri) => uri.replace(/\/+$/, ''),
  locateManifest(uri) {
    const clean = uri.replace(/\/+$/, '');
    if (!clean.endsWith('.json')) return { root: clean, manifestKey: 'manifest.json' };
    const slash = clean.lastIndexOf('/');
    return { root: clean.slice(0, slash), manifestKey: clean.slice(slash + 1) };
  },
  open(uri, options = {}) {
    const { bucket, prefix } = parseS3Uri(uri);
    const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    return new S3Storage({
      bucket,
      prefix,
      region,
      ...(endpoint ? { endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    });
  },
};
