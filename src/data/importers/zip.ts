// Read-only access to the entries of a zip archive (PyTorch .pt files, NumPy .npz files). Everything the
// central directory says is checked before anything is allocated: entry names (relative, inside the
// archive), counts, methods, sizes against deflate's largest possible ratio, and that no two entries'
// data overlap (overlapping entries are how a small zip is made to inflate to terabytes). Inflation is
// held to the declared size while it runs, and compressed entries are read as streams in ranges, so a
// deflate bomb costs at most the range asked for, never its whole declared size.
import yauzl from 'yauzl';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DataError } from '../../errors.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import { MAX_ARRAY_BYTES } from './ndarray.js';

export interface ZipEntryInfo {
  name: string;
  /** Uncompressed size from the central directory. */
  size: number;
  compressedSize: number;
  /** 0 stored, 8 deflate. */
  method: number;
}

/** Refuse archives with more entries than any tensor file plausibly holds. */
export const MAX_ZIP_ENTRIES = 100_000;
/** Entry names longer than this (in characters) are not array or storage names. */
export const MAX_ZIP_NAME_LENGTH = 1024;
/** Deflate cannot produce more than about 1032 bytes per input byte; a directory claiming more lies. */
export const DEFLATE_MAX_RATIO = 1032;
/** A compressed entry read whole (a pickle, a Fortran-order array) may inflate to at most this. */
export const MAX_INFLATED_ENTRY_BYTES = 256 * 1024 * 1024;
/** Size of a local file header before its name and extra field. */
const LOCAL_HEADER_BYTES = 30;

/** A compressed entry read forward in byte ranges; asking for an earlier range restarts the stream. */
export interface SequentialEntry {
  range(start: number, end: number): Promise<Uint8Array>;
  close(): void;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntryInfo>();
  private readonly raw = new Map<string, yauzl.Entry>();
  /** Where the next entry's local header (or the central directory) starts: an entry's data must end before it. */
  private readonly limitOf = new Map<string, number>();

  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly file: string,
    private readonly path: string,
  ) {}

  private handle?: Promise<FileHandle>;
  private readonly dataStart = new Map<string, number>();

  static async open(path: string, file: string = path): Promise<ZipArchive> {
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true, decodeStrings: true });
    } catch (e) {
      throw new DataError(file, `not a readable zip archive (${(e as Error).message.slice(0, 200)})`, { cause: e });
    }
    const archive = new ZipArchive(zip, file, path);
    if (zip.entryCount > MAX_ZIP_ENTRIES) {
      zip.close();
      throw new DataError(file, `zip archive lists ${zip.entryCount} entries (at most ${MAX_ZIP_ENTRIES} are accepted)`);
    }
    // The central directory starts where yauzl begins reading entries; no entry's data may reach into it.
    const directoryAt = (zip as unknown as { readEntryCursor?: number }).readEntryCursor;
    try {
      for await (const entry of zip.eachEntry()) archive.addEntry(entry);
      archive.checkLayout(typeof directoryAt === 'number' ? directoryAt : zip.fileSize);
    } catch (e) {
      zip.close();
      if (e instanceof DataError) throw e;
      throw new DataError(archive.file, `corrupt zip archive (${(e as Error).message.slice(0, 200)})`, { cause: e });
    }
    return archive;
  }

  private addEntry(entry: yauzl.Entry): void {
    const name = entry.fileName;
    const shown = JSON.stringify(name.slice(0, 80));
    if (name.length > MAX_ZIP_NAME_LENGTH) throw new DataError(this.file, `zip entry name of ${name.length} characters is too long (at most ${MAX_ZIP_NAME_LENGTH})`);
    const bare = name.endsWith('/') ? name.slice(0, -1) : name;
    if (!isSafeRelativePath(bare)) throw new DataError(this.file, `zip entry name ${shown} is not a plain relative path inside the archive`);
    if (entry.isEncrypted()) throw new DataError(this.file, `zip entry ${shown} is encrypted`);
    if (this.entries.has(name)) throw new DataError(this.file, `zip entry ${shown} appears twice`);
    const method = entry.compressionMethod;
    if (method !== 0 && method !== 8) throw new DataError(this.file, `zip entry ${shown} uses compression method ${method} (only stored and deflate are read)`);
    const size = entry.uncompressedSize;
    const packed = entry.compressedSize;
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(packed)) throw new DataError(this.file, `zip entry ${shown} has an invalid size`);
    if (method === 8 && size > DEFLATE_MAX_RATIO * packed + 4096)
      throw new DataError(this.file, `zip entry ${shown} claims ${size} bytes from ${packed} compressed bytes, more than deflate can produce (${DEFLATE_MAX_RATIO}:1)`);
    this.entries.set(name, { name, size, compressedSize: packed, method });
    this.raw.set(name, entry);
  }

  /** Entries' data must not overlap each other or the central directory. */
  private checkLayout(directoryAt: number): void {
    const byOffset = [...this.raw.values()].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
    for (let i = 0; i < byOffset.length; i++) {
      const e = byOffset[i]!;
      const limit = i + 1 < byOffset.length ? byOffset[i + 1]!.relativeOffsetOfLocalHeader : directoryAt;
      // The local header repeats the name, so the data starts at least this far in.
      const minEnd = e.relativeOffsetOfLocalHeader + LOCAL_HEADER_BYTES + e.fileNameLength + e.compressedSize;
      if (minEnd > limit) {
        const what = i + 1 < byOffset.length ? `entry ${JSON.stringify(byOffset[i + 1]!.fileName.slice(0, 80))}` : 'the central directory';
        throw new DataError(this.file, `zip entry ${JSON.stringify(e.fileName.slice(0, 80))} overlaps ${what} (entries must not share bytes)`);
      }
      this.limitOf.set(e.fileName, limit);
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The whole entry. `maxBytes` bounds what we accept; `expectedBytes`, when given, must equal the
   * directory's size (checked before allocation). Compressed entries are held to MAX_INFLATED_ENTRY_BYTES.
   */
  async read(name: string, opts: { maxBytes?: number; expectedBytes?: number } = {}): Promise<Uint8Array> {
    const entry = this.entry(name);
    const size = entry.uncompressedSize;
    const cap = entry.compressionMethod === 0 ? MAX_ARRAY_BYTES : MAX_INFLATED_ENTRY_BYTES;
    const max = Math.min(opts.maxBytes ?? cap, cap);
    if (opts.expectedBytes !== undefined && size !== opts.expectedBytes)
      throw new DataError(this.file, `zip entry ${name} holds ${size} bytes but ${opts.expectedBytes} are needed`);
    if (size > max)
      throw new DataError(this.file, `zip entry ${name} is ${size} bytes (limit ${max}${entry.compressionMethod === 0 ? '' : ' for a compressed entry read whole; store it uncompressed'})`);
    if (entry.compressionMethod === 0) return this.readStored(entry, 0, size);
    // A fresh allocation (not from the pool) is 8-byte aligned, so typed views over it need no copy.
    const out = new Uint8Array(size);
    let at = 0;
    await this.stream(entry, (chunk) => {
      if (at + chunk.length > size) throw new DataError(this.file, `zip entry ${name} inflates past its declared ${size} bytes`);
      out.set(chunk, at);
      at += chunk.length;
      return true;
    });
    if (at !== size) throw new DataError(this.file, `zip entry ${name} is truncated: ${at} of ${size} bytes`);
    return out;
  }

  /** Up to `n` leading bytes of an entry (for headers), without inflating the rest. */
  async readPrefix(name: string, n: number): Promise<Uint8Array> {
    const entry = this.entry(name);
    const want = Math.min(n, entry.uncompressedSize);
    if (entry.compressionMethod === 0) return this.readStored(entry, 0, want);
    const out = new Uint8Array(want);
    let at = 0;
    await this.stream(entry, (chunk) => {
      const take = Math.min(chunk.length, want - at);
      out.set(chunk.subarray(0, take), at);
      at += take;
      return at < want;
    });
    return out.subarray(0, at);
  }

  /** Bytes [start, end) of a stored (uncompressed) entry, read directly from the file. */
  async readRange(name: string, start: number, end: number): Promise<Uint8Array> {
    const entry = this.entry(name);
    if (entry.compressionMethod !== 0) throw new Error('readRange needs a stored entry');
    this.checkRange(entry, start, end);
    return this.readStored(entry, start, end);
  }

  /**
   * A compressed entry read forward in ranges: memory is the range asked for, and the inflated stream is
   * held to the entry's declared size while it runs.
   */
  sequential(name: string): SequentialEntry {
    const entry = this.entry(name);
    const size = entry.uncompressedSize;
    let stream: Readable | undefined;
    let chunks: AsyncIterator<Buffer> | undefined;
    let pos = 0;
    let produced = 0;
    let pending: Buffer | undefined;
    const restart = async (): Promise<void> => {
      stream?.destroy();
      stream = await this.open(entry);
      chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      pos = 0;
      produced = 0;
      pending = undefined;
    };
    const nextChunk = async (): Promise<Buffer | undefined> => {
      let r: IteratorResult<Buffer>;
      try {
        r = await chunks!.next();
      } catch (e) {
        throw new DataError(this.file, `corrupt zip entry ${name} (${(e as Error).message.slice(0, 200)})`, { cause: e });
      }
      if (r.done) return undefined;
      produced += r.value.length;
      if (produced > size) throw new DataError(this.file, `zip entry ${name} inflates past its declared ${size} bytes`);
      return r.value;
    };
    return {
      range: async (start, end) => {
        this.checkRange(entry, start, end);
        if (!chunks || start < pos) await restart();
        const out = new Uint8Array(end - start);
        let filled = 0;
        while (filled < out.length) {
          const chunk = pending ?? (await nextChunk());
          pending = undefined;
          if (!chunk) throw new DataError(this.file, `zip entry ${name} is truncated: ${pos} of ${size} bytes`);
          const chunkStart = pos;
          const from = Math.max(start, chunkStart) - chunkStart;
          const to = Math.min(end, chunkStart + chunk.length) - chunkStart;
          if (to > from) {
            out.set(chunk.subarray(from, to), chunkStart + from - start);
            filled += to - from;
          }
          const used = Math.max(to, 0);
          if (used < chunk.length && chunkStart + used >= start) {
            pending = chunk.subarray(used);
            pos = chunkStart + used;
          } else pos = chunkStart + chunk.length;
        }
        return out;
      },
      close: () => {
        stream?.destroy();
        stream = undefined;
        chunks = undefined;
      },
    };
  }

  private entry(name: string): yauzl.Entry {
    const entry = this.raw.get(name);
    if (!entry) throw new DataError(this.file, `zip entry ${name} is missing`);
    return entry;
  }

  private checkRange(entry: yauzl.Entry, start: number, end: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > entry.uncompressedSize || end < start)
      throw new DataError(this.file, `zip entry ${entry.fileName}: range ${start}..${end} is outside its ${entry.uncompressedSize} bytes`);
  }

  /** Stored data is read straight from the file: no stream, one copy. */
  private async readStored(entry: yauzl.Entry, start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    if (end === start) return out;
    const base = await this.dataOffset(entry);
    this.handle ??= open(this.path, 'r');
    const fh = await this.handle;
    let at = 0;
    while (at < out.length) {
      const { bytesRead } = await fh.read(out, at, out.length - at, base + start + at);
      if (bytesRead === 0) throw new DataError(this.file, `zip entry ${entry.fileName} is truncated`);
      at += bytesRead;
    }
    return out;
  }

  /** Where an entry's data starts, from its local header, checked to end before the next entry. */
  private async dataOffset(entry: yauzl.Entry): Promise<number> {
    const known = this.dataStart.get(entry.fileName);
    if (known !== undefined) return known;
    let base: number;
    try {
      base = (await this.zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
    } catch (e) {
      throw new DataError(this.file, `corrupt zip entry ${entry.fileName} (${(e as Error).message.slice(0, 200)})`, { cause: e });
    }
    const limit = this.limitOf.get(entry.fileName) ?? this.zip.fileSize;
    if (base + entry.compressedSize > limit) throw new DataError(this.file, `zip entry ${entry.fileName} runs into the next entry or past the end of the file`);
    this.dataStart.set(entry.fileName, base);
    return base;
  }

  close(): void {
    this.zip.close();
    const h = this.handle;
    this.handle = undefined;
    void h?.then((fh) => fh.close()).catch(() => undefined);
  }

  private async open(entry: yauzl.Entry): Promise<Readable> {
    // The local header decides where data starts: check it against the layout before inflating.
    await this.dataOffset(entry);
    try {
      return await this.zip.openReadStreamPromise(entry, {});
    } catch (e) {
      throw new DataError(this.file, `cannot read zip entry ${entry.fileName} (${(e as Error).message.slice(0, 200)})`, { cause: e });
    }
  }

  private async stream(entry: yauzl.Entry, onChunk: (c: Buffer) => boolean): Promise<void> {
    const s = await this.open(entry);
    try {
      await consume(s, onChunk);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(this.file, `corrupt zip entry ${entry.fileName} (${(e as Error).message.slice(0, 200)})`, { cause: e });
    }
  }
}

/** Feed a stream's chunks to `onChunk` until it returns false or the stream ends; always destroys the stream. */
async function consume(s: Readable, onChunk: (c: Buffer) => boolean): Promise<void> {
  try {
    for await (const chunk of s) {
      if (!onChunk(chunk as Buffer)) break;
    }
  } finally {
    s.destroy();
  }
}
