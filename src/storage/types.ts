// The storage seam. A data set or a run's results live under keys ("data/manifest.json",
// "results/<run>/rank-00003.json") in a local directory or an S3 bucket prefix with the same layout.

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface Storage {
  /** A URL-like description for messages: "file:///abs/dir" or "s3://bucket/prefix". */
  readonly location: string;
  /** Whole object; throws DataError naming the key when missing. `maxBytes` guards against huge objects. */
  get(key: string, opts?: { maxBytes?: number }): Promise<Uint8Array>;
  /** Atomic: readers see the old object or the whole new one, never a part. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Size of an object, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** All objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
}
