// Read-only access to the entries of a zip archive (PyTorch .pt files, NumPy .npz files). Entry sizes
// come from the central directory and are checked before anything is allocated; the decompressed
// stream is held to that size, so a lying directory (a zip bomb) fails instead of filling memory.
import yauzl from 'yauzl';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DataError } from '../../errors.js';
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

export class ZipArchive {
  readonly entries = new Map<string, ZipEntryInfo>();
  private readonly raw = new Map<string, yauzl.Entry>();

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
      throw new DataError(file, `not a readable zip archive (${(e as Error).message})`, { cause: e });
    }
    const archive = new ZipArchive(zip, file, path);
    if (zip.entryCount > MAX_ZIP_ENTRIES) {
      zip.close();
      throw new DataError(file, `zip archive lists ${zip.entryCount} entries (at most ${MAX_ZIP_ENTRIES} are accepted)`);
    }
    try {
      for await (const entry of zip.eachEntry()) {
        if (entry.isEncrypted()) throw new DataError(file, `zip entry ${entry.fileName} is encrypted`);
        if (archive.entries.has(entry.fileName)) throw new DataError(file, `zip entry ${entry.fileName} appears twice`);
        archive.entries.set(entry.fileName, { name: entry.fileName, size: entry.uncompressedSize, compressedSize: entry.compressedSize, method: entry.compressionMethod });
        archive.raw.set(entry.fileName, entry);
      }
    } catch (e) {
      zip.close();
      if (e instanceof DataError) throw e;
      throw new DataError(file, `corrupt zip archive (${(e as Error).message})`, { cause: e });
    }
    return archive;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The whole entry. `maxBytes` bounds what we accept; `expectedBytes`, when given, must equal the
   * directory's size (checked before allocation).
   */
  async read(name: string, opts: { maxBytes?: number; expectedBytes?: number } = {}): Promise<Uint8Array> {
    const entry = this.raw.get(name);
    if (!entry) throw new DataError(this.file, `zip entry ${name} is missing`);
    const size = entry.uncompressedSize;
    const max = Math.min(opts.maxBytes ?? MAX_ARRAY_BYTES, MAX_ARRAY_BYTES);
    if (opts.expectedBytes !== undefined && size !== opts.expectedBytes)
      throw new DataError(this.file, `zip entry ${name} holds ${size} bytes but ${opts.expectedBytes} are needed`);
    if (size > max) throw new DataError(this.file, `zip entry ${name} is ${size} bytes (limit ${max})`);
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
    const entry = this.raw.get(name);
    if (!entry) throw new DataError(this.file, `zip entry ${name} is missing`);
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
    const entry = this.raw.get(name);
    if (!entry) throw new DataError(this.file, `zip entry ${name} is missing`);
    if (entry.compressionMethod !== 0) throw new Error('readRange needs a stored entry');
    if (start < 0 || end > entry.uncompressedSize || end < start) throw new DataError(this.file, `zip entry ${name}: range ${start}..${end} is outside its ${entry.uncompressedSize} bytes`);
    return this.readStored(entry, start, end);
  }

  /** Stored data is read straight from the file: no stream, one copy. */
  private async readStored(entry: yauzl.Entry, start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    if (end === start) return out;
    let base = this.dataStart.get(entry.fileName);
    if (base === undefined) {
      try {
        base = (await this.zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
      } catch (e) {
        throw new DataError(this.file, `corrupt zip entry ${entry.fileName} (${(e as Error).message})`, { cause: e });
      }
      this.dataStart.set(entry.fileName, base);
    }
    if (base + entry.compressedSize > this.zip.fileSize) throw new DataError(this.file, `zip entry ${entry.fileName} runs past the end of the file`);
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

  close(): void {
    this.zip.close();
    const h = this.handle;
    this.handle = undefined;
    void h?.then((fh) => fh.close()).catch(() => undefined);
  }

  private async open(entry: yauzl.Entry): Promise<Readable> {
    try {
      return await this.zip.openReadStreamPromise(entry, {});
    } catch (e) {
      throw new DataError(this.file, `cannot read zip entry ${entry.fileName} (${(e as Error).message})`, { cause: e });
    }
  }

  private async stream(entry: yauzl.Entry, onChunk: (c: Buffer) => boolean): Promise<void> {
    const s = await this.open(entry);
    try {
      await consume(s, onChunk);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(this.file, `corrupt zip entry ${entry.fileName} (${(e as Error).message})`, { cause: e });
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
