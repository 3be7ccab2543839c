// Where a run's data, results and model live, as a Lambda instance sees them. An event names them as
// s3:// URIs, or as keys relative to the deployment's bucket ($CAI_STORAGE_URI); a model may also be a file
// inside the image. A Lambda instance has no durable disk, so local data or results are refused.
import { UsageError } from '../../errors.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import { isS3Uri } from '../../storage/index.js';
import type { RunConfig } from '../../workflow/contracts.js';

/** The default storage root of the deployment, "s3://bucket[/prefix]", from the environment. */
export function defaultStorageRoot(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  if (!isS3Uri(v)) throw new UsageError(`$${name} must be an s3://bucket[/prefix] URI, got "${v}"`);
  return v.replace(/\/+$/, '');
}

function joinS3(root: string, rel: string): string {
  return rel === '.' ? root : `${root}/${rel}`;
}

/** One location: an s3:// URI as it is, a relative key under the default root, else an error naming `what`. */
export function resolveS3Location(value: string, what: string, root: string | undefined): string {
  if (isS3Uri(value)) return value.replace(/\/+$/, '');
  const rel = value.replace(/^\.\//, '').replace(/\/+$/, '');
  if (root && (rel === '.' || rel === '' || isSafeRelativePath(rel))) return joinS3(root, rel === '' ? '.' : rel);
  throw new UsageError(
    root
      ? `${what} "${value}" is neither an s3:// URI nor a relative key under ${root}`
      : `${what} "${value}" must be an s3:// URI on Lambda (or a relative key, with $CAI_STORAGE_URI set)`,
  );
}

/**
 * The run with every location made absolute for this instance: data and results in S3; the model in S3
 * (fetched later) or, given as an absolute path, a file in the image.
 */
export function resolveRunLocations(run: RunConfig, root: string | undefined): RunConfig {
  const model = run.model.path.startsWith('/') ? run.model.path : resolveS3Location(run.model.path, 'model', root);
  return {
    ...run,
    data: { ...run.data, uri: resolveS3Location(run.data.uri, 'data location', root) },
    results: { uri: resolveS3Location(run.results.uri, 'results location', root) },
    model: { path: model },
  };
}
