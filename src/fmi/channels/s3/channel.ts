// The S3 channel: a message is an object under a key both sides can compute, because each side counts
// the frames of every (source, destination, tag) route. The receiver polls for the next key with
// exponential backoff, reads the object, and deletes it. Slow and priced per request, but needs no
// server of its own: the fallback when nothing else reaches between function instances. Joining is
// explicit: an endpoint writes an empty presence object, whose key carries its presence token, when it
// opens and deletes it when it closes, so one listing tells any rank who never joined or has left.
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { CaiError, DataError, UnavailableError } from '../../../errors.js';
import { FmiDeadlineError } from '../../errors.js';
import type { Absence, Channel, ChannelConfig } from '../../channel.js';
import { PresenceQuestion } from '../presence-question.js';
import { checkChannelConfig, checkPeer } from '../namespace.js';
import { FRAME_HEADER_BYTES, FrameSealer, isIncompleteFrame } from '../sealed-frame.js';

export interface S3ChannelOptions {
  /** A configured client; several endpoints may share one. close() never destroys it, but calls `releaseClient`. */
  client: S3Client;
  /** Called once by close(), when this endpoint is done with the client (the last holder destroys it). */
  releaseClient?: () => void;
  bucket: string;
  /** Key prefix inside the bucket, e.g. "scratch/" (default none). */
  prefix?: string;
  /** First wait after a missing object. Default 2 ms. */
  pollInitialMs?: number;
  /** Longest wait between polls. Default 100 ms. */
  pollMaxMs?: number;
  /** Growth of the wait after each miss. Default 2. */
  pollFactor?: number;
  /** Absolute deadline for writing this rank's presence record when it opens. Default 30 s from now. */
  joinDeadline?: number;
}

export const S3_POLL_DEFAULTS = { pollInitialMs: 2, pollMaxMs: 100, pollFactor: 2 } as const;

/** Key prefix of everything one run of one communicator stores. */
export function s3RunPrefix(prefix: string, communicator: string, runId: string): string {
  return `${prefix}fmi/${communicator}/${runId}/`;
}

/**
 * Object key of frame `seq` from `source` to `dest` with `tag`. Destination first, so one listing finds
 * everything addressed to a rank. File-backed S3 servers (s3rver) map keys to directories, list them in
 * directory order and remove directories that become empty: all keys therefore have the same depth and
 * integer parts (listing order = key order), and each frame gets a folder of its own (".../{seq}/frame"),
 * so deleting one frame never removes the folder another frame is being written into.
 */
export function s3MessageKey(prefix: string, communicator: string, runId: string, source: number, dest: number, tag: number, seq: number): string {
  return `${s3RunPrefix(prefix, communicator, runId)}${dest}/${source}/${tag}/${String(seq).padStart(10, '0')}/frame`;
}

/**
 * This rank's presence record: an empty object whose key ends in its presence token (so a listing alone
 * authenticates it). Ranks are zero-padded so listing order is key order, as with frames.
 */
export function s3PresenceKey(prefix: string, communicator: string, runId: string, rank: number, token: string): string {
  return `${s3PresencePrefix(prefix, communicator, runId)}${String(rank).padStart(10, '0')}/${token}`;
}

export function s3PresencePrefix(prefix: string, communicator: string, runId: string): string {
  return `${s3RunPrefix(prefix, communicator, runId)}presence/`;
}

interface RouteState {
  next: number;
  /** Sequence numbers claimed by receives that timed out; the next receive takes them first. */
  abandoned: number[];
}

export class S3Channel implements Channel {
  readonly kind = 's3' as const;
  readonly rank: number;
  readonly worldSize: number;
  private readonly sealer: FrameSealer;
  private readonly prefix: string;
  private readonly sendSeq = new Map<string, number>();
  private readonly recvRoutes = new Map<string, RouteState>();
  private readonly pendingDeletes = new Set<Promise<unknown>>();
  private readonly poll: Required<Pick<S3ChannelOptions, 'pollInitialMs' | 'pollMaxMs' | 'pollFactor'>>;
  private readonly where: string;
  private closing?: Promise<void>;
  private readonly presence = new PresenceQuestion((deadline) => this.askPresence(deadline));

  constructor(
    private readonly config: ChannelConfig,
    private readonly options: S3ChannelOptions,
  ) {
    checkChannelConfig('s3', config);
    this.rank = config.rank;
    this.worldSize = config.worldSize;
    this.prefix = options.prefix ?? '';
    this.sealer = new FrameSealer(config.secret, 's3', config.communicator, config.runId);
    this.poll = { ...S3_POLL_DEFAULTS, ...definedOnly({ pollInitialMs: options.pollInitialMs, pollMaxMs: options.pollMaxMs, pollFactor: options.pollFactor }) };
    this.where = `s3://${options.bucket}`;
  }

  async send(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void> {
    this.checkOpen();
    checkPeer('s3', this.worldSize, dest, tag);
    const what = `s3 send from rank ${this.rank} to rank ${dest} tag ${tag}`;
    if (Date.now() >= deadline) throw new FmiDeadlineError(what, [dest], [this.where]);
    const route = `${dest}/${tag}`;
    const seq = this.sendSeq.get(route) ?? 0;
    this.sendSeq.set(route, seq + 1);
    const key = this.key(this.rank, dest, tag, seq);
    const frame = this.sealer.seal(this.rank, dest, tag, seq, payload);
    try {
      await this.options.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: frame, ContentLength: frame.length }), {
        abortSignal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
    } catch (err) {
      if (isAbort(err)) throw new FmiDeadlineError(what, [dest], [this.where]);
      throw new UnavailableError(`${this.where}/${key}: upload failed: ${errorText(err)}`, { cause: err });
    }
  }

  async recv(source: number, tag: number, deadline: number): Promise<Uint8Array> {
    this.checkOpen();
    checkPeer('s3', this.worldSize, source, tag);
    const route = `${source}/${tag}`;
    let state = this.recvRoutes.get(route);
    if (!state) this.recvRoutes.set(route, (state = { next: 0, abandoned: [] }));
    const seq = state.abandoned.length ? state.abandoned.shift()! : state.next++;
    const key = this.key(source, this.rank, tag, seq);
    const onTimeout = () => {
      state.abandoned.push(seq);
      state.abandoned.sort((a, b) => a - b);
      return new FmiDeadlineError(`s3 recv on rank ${this.rank} from rank ${source} tag ${tag}`, [source]);
    };

    let wait = this.poll.pollInitialMs;
    let incomplete: number | undefined;
    for (;;) {
      if (this.closing) throw new UnavailableError(`s3 channel of rank ${this.rank} closed`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw onTimeout();
      const frame = await this.fetch(key, remaining);
      if (frame === 'aborted') throw onTimeout();
      // S3 shows an object only once it is whole; file-backed servers can show one mid-write, so a
      // frame shorter than its header says is polled again rather than refused.
      if (frame && isIncompleteFrame(frame)) {
        incomplete = frame.length;
      } else if (frame) {
        this.forget(key);
        const refuse = (problem: string) => new DataError(`${this.where}/${key}`, `refused a frame from rank ${source}: ${problem}`);
        const opened = this.sealer.openOr(source, this.rank, tag, frame, this.config.maxFrameBytes, refuse);
        // The key names the sequence number; an authentic frame copied under another key is refused.
        if (opened.seq !== seq) throw refuse(`frame has sequence number ${opened.seq}, its key says ${seq} (replayed frame)`);
        return opened.payload;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        if (incomplete !== undefined) {
          this.forget(key);
          throw new DataError(`${this.where}/${key}`, `refused a frame from rank ${source}: it stayed truncated at ${incomplete} bytes`);
        }
        throw onTimeout();
      }
      await sleep(Math.min(wait, left));
      wait = Math.min(wait * this.poll.pollFactor, this.poll.pollMaxMs);
    }
  }

  /** Write this rank's presence record (one request): from now on the others can see it has joined. */
  async join(deadline: number): Promise<void> {
    const key = this.presenceKey();
    try {
      await this.options.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0 }), { abortSignal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
    } catch (err) {
      if (isAbort(err)) throw new FmiDeadlineError(`s3 join of rank ${this.rank}`, [], [this.where]);
      throw new UnavailableError(`${this.where}/${key}: rank ${this.rank} could not join: ${errorText(err)}`, { cause: err });
    }
  }

  /**
   * Ranks without a valid presence record: they never joined, or closed (the two look alike). One
   * listing per 1000 ranks. Undefined when this rank's own record is missing too, or the store does not answer.
   */
  absentRanks(deadline: number): Promise<ReadonlyMap<number, Absence> | undefined> {
    return this.presence.absent(deadline);
  }

  private async askPresence(deadline: number): Promise<ReadonlyMap<number, Absence> | undefined> {
    if (this.closing) return undefined;
    const prefix = s3PresencePrefix(this.prefix, this.config.communicator, this.config.runId);
    const present = new Set<number>();
    let marker: string | undefined;
    try {
      for (;;) {
        const page = await this.options.client.send(new ListObjectsCommand({ Bucket: this.options.bucket, Prefix: prefix, Marker: marker }), { abortSignal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
        const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
        for (const key of keys) {
          const m = /^(\d{10})\/([0-9a-f]{64})$/.exec(key.slice(prefix.length));
          const rank = m ? Number(m[1]) : -1;
          if (m && rank < this.worldSize && this.sealer.isPresenceToken(rank, m[2]!)) present.add(rank);
        }
        if (!page.IsTruncated || keys.length === 0) break;
        marker = page.NextMarker ?? keys[keys.length - 1];
      }
    } catch {
      return undefined;
    }
    if (!present.has(this.rank)) return undefined;
    const absent = new Map<number, Absence>();
    for (let r = 0; r < this.worldSize; r++) if (!present.has(r)) absent.set(r, 'never joined or left');
    return absent;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private presenceKey(): string {
    return s3PresenceKey(this.prefix, this.config.communicator, this.config.runId, this.rank, this.sealer.presenceToken(this.rank));
  }

  private async shutdown(): Promise<void> {
    // Leave first: a rank waiting on this one can tell from now on that it is gone.
    await this.options.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.presenceKey() })).catch(() => undefined);
    await Promise.allSettled([...this.pendingDeletes]);
    // Frames addressed to this rank that it never received.
    const mine = `${s3RunPrefix(this.prefix, this.config.communicator, this.config.runId)}${this.rank}/`;
    try {
      await deleteS3Prefix(this.options.client, this.options.bucket, mine);
    } catch {
      // Unreachable store: a bucket lifecycle rule on the prefix removes what is left.
    } finally {
      this.options.releaseClient?.();
    }
  }

  /** The frame under `key`; undefined while it does not exist yet; 'aborted' past the deadline. */
  private async fetch(key: string, remainingMs: number): Promise<Buffer | undefined | 'aborted'> {
    const cap = this.config.maxFrameBytes + FRAME_HEADER_BYTES;
    let body: Readable | undefined;
    try {
      const got = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: AbortSignal.timeout(remainingMs) });
      body = got.Body as Readable | undefined;
      const length = got.ContentLength;
      if (length === undefined || !Number.isSafeInteger(length)) throw new DataError(`${this.where}/${key}`, 'object has no Content-Length');
      // Refuse before downloading: the header tells the size.
      if (length > cap) throw new DataError(`${this.where}/${key}`, `refused a frame of ${length} bytes: exceeds the ${this.config.maxFrameBytes}-byte limit plus ${FRAME_HEADER_BYTES}-byte header`);
      return await readExactly(body, length, `${this.where}/${key}`);
    } catch (err) {
      body?.destroy();
      if (err instanceof CaiError) {
        if (err instanceof DataError) this.forget(key);
        throw err;
      }
      if (isMissing(err)) return undefined;
      if (isAbort(err)) return 'aborted';
      throw new UnavailableError(`${this.where}/${key}: download failed: ${errorText(err)}`, { cause: err });
    }
  }

  /** Delete a consumed (or refused) object without holding up the receive; close() waits for it. */
  private forget(key: string): void {
    const p = this.options.client
      .send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }))
      .catch(() => undefined)
      .finally(() => this.pendingDeletes.delete(p));
    this.pendingDeletes.add(p);
  }

  private key(source: number, dest: number, tag: number, seq: number): string {
    return s3MessageKey(this.prefix, this.config.communicator, this.config.runId, source, dest, tag, seq);
  }

  private checkOpen(): void {
    if (this.closing) throw new CaiError(`s3 channel of rank ${this.rank} is closed`);
  }
}

/** Open one endpoint of an S3 channel: it joins the run by writing its presence record. */
export async function openS3Channel(config: ChannelConfig, options: S3ChannelOptions): Promise<S3Channel> {
  const channel = new S3Channel(config, options);
  try {
    await channel.join(options.joinDeadline ?? Date.now() + 30_000);
  } catch (err) {
    await channel.close();
    throw err;
  }
  return channel;
}

/** Delete every object under `prefix`, page by page; returns how many were deleted. */
export async function deleteS3Prefix(client: S3Client, bucket: string, prefix: string, pageSize = 1000): Promise<number> {
  let deleted = 0;
  let marker: string | undefined;
  for (;;) {
    // Version 1 listing with the last key as marker, and no delimiter: a flat listing paged by key is
    // what every S3 implementation does alike (s3rver cannot mint ListObjectsV2 continuation tokens on
    // OpenSSL 3, and AWS documents the last key as the V1 marker when NextMarker is absent).
    const page = await client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, Marker: marker }));
    const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
    if (keys.length) {
      await deleteKeys(client, bucket, keys);
      deleted += keys.length;
    }
    if (!page.IsTruncated || keys.length === 0) return deleted;
    marker = page.NextMarker ?? keys[keys.length - 1];
  }
}

async function deleteKeys(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  try {
    const res = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    if (!res.Errors?.length) return;
  } catch {
    // File-backed S3 servers (s3rver) delete a batch concurrently and can trip over their own empty-directory
    // cleanup; one key at a time is idempotent and a retried single delete always converges.
  }
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(
      keys.slice(i, i + 8).map(async (Key) => {
        try {
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
        } catch (err) {
          throw new UnavailableError(`s3://${bucket}/${Key}: delete failed: ${errorText(err)}`, { cause: err });
        }
      }),
    );
  }
}

/** Delete everything a run of a communicator left in the bucket. */
export function deleteS3Run(client: S3Client, bucket: string, communicator: string, runId: string, prefix = ''): Promise<number> {
  return deleteS3Prefix(client, bucket, s3RunPrefix(prefix, communicator, runId));
}

async function readExactly(body: Readable | undefined, length: number, where: string): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  if (body) {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (filled + chunk.length > length) throw new DataError(where, `object is longer than its Content-Length of ${length} bytes`);
      chunk.copy(out, filled);
      filled += chunk.length;
    }
  }
  if (filled !== length) throw new DataError(where, `object ended after ${filled} of ${length} bytes`);
  return out;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
