// The storage seam. A data set or a run's results live under keys ("data/manifest.json",
// "results/<run>/rank-00003.json") in a local directory or an S3 bucket prefix with the same layout. Each
// backend is a sibling folder (local/, s3/) whose index.ts exports one StorageBackend; storage/index.ts
// lists them, and openStorage(uri) is the one way to open any of them.

export interface ObjectInfo {
  key: string;
  size: number;
}

/** An object and a tag of the version read: an ETag on S3, the file's identity in a directory. */
export interface TaggedObject {
  body: Uint8Array;
  tag: string;
}

export interface Storage {
  /** The backend it belongs to ("local", "s3"): what a caller checks instead of the class. */
  readonly kind: string;
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
  /** Like get, with the tag of the version read; undefined when the object does not exist. */
  getTagged(key: string, opts?: { maxBytes?: number }): Promise<TaggedObject | undefined>;
  /**
   * A conditional put, for locks. `ifTag` null: create the object only if no object has the key; a tag: replace
   * the object only while it is still the version getTagged returned. False when the condition does not hold.
   * A backend whose server ignores the condition writes anyway; callers that must know read the object back.
   */
  putIf(key: string, body: Uint8Array | string, ifTag: string | null): Promise<boolean>;
}

/** One storage backend: which URIs it serves and how it opens them. */
export interface StorageBackend<Options = unknown> {
  /** The `kind` of the storages it opens. */
  readonly kind: string;
  /** How a user writes its URIs, for messages ("s3://bucket/prefix"). */
  readonly uriForms: readonly string[];
  /** True for the URIs this backend serves. */
  claims(uri: string): boolean;
  /** The URI as runs record it (an absolute path; no trailing slash). */
  normalize(uri: string): string;
  /**
   * A data location split into storage root and manifest key: a container (directory, prefix) holds
   * manifest.json; anything else names the manifest itself.
   */
  locateManifest(uri: string, isLocalDirectory: (path: string) => boolean): { root: string; manifestKey: string };
  open(uri: string, options?: Options): Storage;
}
