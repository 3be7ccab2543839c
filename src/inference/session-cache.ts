// The optimized-model cache: most of a CPU session's creation is onnxruntime parsing the ONNX protobuf,
// copying every weight and optimizing the graph, the same work for the same model on the same machine
// each time. The first session of a model saves its optimized graph in onnxruntime's own format (a
// flatbuffer the runtime reads in place, weights included); later sessions load that with no further
// optimization, which measured about half the CPU time of a fresh creation on the AstroMAE model and
// gives bit-identical predictions.
//
// An optimized graph is only valid where it was made: level 'all' applies layout transformations for the
// CPU's instruction set. So an entry's key holds the model's sha256, the onnxruntime version, the execution
// provider, the optimization level and the CPU's instruction-set features; another machine misses and
// optimizes afresh. A second, portable entry (level 'basic': graph rewrites that do not depend on the
// CPU, finished at load for this CPU) serves machines whose CPU is not known in advance, such as AWS
// Lambda's from an image built elsewhere; its predictions agree with a fresh session's to float32
// rounding (about 1e-7 relative: the fusions are applied in another order), not bit for bit. Entries are written atomically and checked when loaded: by
// size and sha256 (hashed while the file is read, into the one buffer the session then uses in place)
// and by onnxruntime's own flatbuffer verification; one that fails is removed and rebuilt. Entry files are
// named by their hex key alone, so no model path or name can place a file outside the cache directory.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, mkdir, open, readFile, readdir, realpath, rename, rm, stat, utimes, writeFile, constants } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { externalDataRefs } from '../model/external-data.js';
import { runtimeVersion, type OptimizationLevel, type RuntimeSession } from '../runtime/onnxruntime.js';

/**
 * How a session's model was found: `hit` (this CPU's entry), `portable` (the portable entry, finished for
 * this CPU at load), `written` (optimized now and stored), `unstored` (optimized now; the cache could not
 * store it: a read-only directory, or a model whose weights live in external files), `off` (no cache:
 * disabled, a device that does not use it, or a model too small to gain).
 */
export type CacheOutcome = 'hit' | 'portable' | 'written' | 'unstored' | 'off';

/** Where the cache lives: $CAI_CACHE_DIR/ort, else build/cache/ort under the working directory; "off" disables it. */
export function sessionCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = env.CAI_CACHE_DIR;
  if (root === 'off') return undefined;
  return resolve(root || join('build', 'cache'), 'ort');
}

/** Below this a model opens in a few milliseconds: caching it would only add files. */
export const MIN_CACHED_MODEL_BYTES = 1 << 20;
/** Entries kept; the least recently used go first (each is about the model's size). */
export const MAX_CACHE_ENTRIES = 16;
/** Bump when what an entry holds, or how it is loaded, changes: older entries are then never read. */
const CACHE_FORMAT = 2;
/** No entry larger than this is read (the largest model the project opens, with room for the ORT format's layout). */
const MAX_ENTRY_BYTES = 4 * 1024 ** 3;
/** Read and hashed in slices of this size, so the hash of one overlaps the read of the next. */
const READ_SLICE_BYTES = 4 << 20;

/** The two kinds of entry: how each is written, how it is loaded, and what its key depends on. */
const TIERS = {
  exact: { save: 'all', load: 'disabled', outcome: 'hit' },
  portable: { save: 'basic', load: 'all', outcome: 'portable' },
} as const satisfies Record<string, { save: OptimizationLevel; load: OptimizationLevel; outcome: CacheOutcome }>;
type Tier = keyof typeof TIERS;

/** The instruction-set features onnxruntime's CPU kernels choose code paths by. */
const X64_FEATURES = /^(sse\d?|ssse3|sse4_[12]|avx|avx2|fma|f16c|bmi[12]|avx512\w*|avx_vnni\w*|amx_\w+)$/;

let fingerprint: string | undefined;

/** What the CPU's entry is valid for: the architecture, vendor and ISA features (Linux /proc/cpuinfo; else the model name). */
export function cpuFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: the model name is the best we know
  }
  const field = (name: string): string => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const flags = (field('flags') || field('Features')).split(/\s+/).filter(Boolean);
  const isa = arch() === 'x64' ? flags.filter((f) => X64_FEATURES.test(f)) : flags;
  fingerprint = isa.length ? `${arch()} ${field('vendor_id')} ${[...new Set(isa)].sort().join(' ')}` : `${arch()} ${cpus()[0]?.model ?? 'unknown'}`;
  return fingerprint;
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** The key of an entry: every input that changes the optimized graph. */
export function entryKey(tier: Tier, modelSha256: string, device: string): string {
  const t = TIERS[tier];
  return sha256(JSON.stringify({ format: CACHE_FORMAT, model: modelSha256, runtime: runtimeVersion(), device, level: t.save, cpu: tier === 'exact' ? cpuFingerprint() : arch() })).slice(0, 40);
}

/** The side file of an entry: what it was made from, for people and for the size check. */
interface EntryInfo {
  kind: 'cai-ort-cache-entry';
  format: number;
  model: string;
  runtime: string;
  device: string;
  level: OptimizationLevel;
  cpu: string;
  bytes: number;
  /** The .ort file's sha256: a damaged entry is found before a session trusts it. */
  sha256: string;
  createdAt: string;
}

/** A model's content hash, remembered per file by its identity (device, inode, size, times) so an unchanged file is not read to know it. */
interface FileMemo {
  path: string;
  id: string;
  sha256: string;
}

function fileIdentity(s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

export interface CachedOpen {
  session: RuntimeSession;
  cache: CacheOutcome;
  /** Identifying the model and reading what the session loads, ms. */
  readMs: number;
  /** onnxruntime's session creation, ms. */
  createMs: number;
}

export interface CacheOpenArgs {
  dir: string;
  model: string | Uint8Array;
  /** The model's bytes, read and checked (size, external data) as every session's model is. */
  readModel: () => Promise<Uint8Array>;
  device: string;
  create: (bytes: Uint8Array, o: { optimization: OptimizationLevel; saveOptimizedTo?: string; useBytesInPlace?: boolean }) => Promise<RuntimeSession>;
}

/** Open a session through the cache: this CPU's entry, else the portable one, else optimize afresh and store it. */
export async function openThroughCache(a: CacheOpenArgs): Promise<CachedOpen> {
  const t0 = performance.now();
  let bytes = typeof a.model === 'string' ? undefined : a.model;
  const identity = await modelSha256(a.dir, a.model, async () => (bytes ??= await a.readModel()));
  if (identity.bytes < MIN_CACHED_MODEL_BYTES) return createFresh(a, bytes ?? (await a.readModel()), t0, 'off');
  for (const tier of ['exact', 'portable'] as const) {
    const key = entryKey(tier, identity.sha256, a.device);
    const entry = await readEntry(a.dir, key);
    if (!entry) continue;
    const readMs = performance.now() - t0;
    const c0 = performance.now();
    try {
      const session = await a.create(entry, { optimization: TIERS[tier].load, useBytesInPlace: true });
      // Least recently used goes first when the cache is full: a hit renews the entry.
      const now = new Date();
      await utimes(entryPath(a.dir, key, 'ort'), now, now).catch(() => undefined);
      return { session, cache: TIERS[tier].outcome, readMs, createMs: performance.now() - c0 };
    } catch (err) {
      debug(`entry ${key} did not load (${err instanceof Error ? err.message : String(err)}); removing it`);
      await removeEntry(a.dir, key);
    }
  }
  const original = bytes ?? (await a.readModel());
  if (!(await writable(a.dir)) || externalDataRefs(original, '(model)').length > 0) return createFresh(a, original, t0, 'unstored');
  const stored = await storeEntries(a, original, identity.sha256, ['exact'], t0);
  return stored;
}

/** Optimize afresh and store the entries of `tiers`; the session of the first is returned, the others are released. */
async function storeEntries(a: CacheOpenArgs, original: Uint8Array, modelSha: string, tiers: readonly Tier[], t0: number): Promise<CachedOpen> {
  const readMs = performance.now() - t0;
  const c0 = performance.now();
  let first: RuntimeSession | undefined;
  for (const tier of tiers) {
    const key = entryKey(tier, modelSha, a.device);
    const final = entryPath(a.dir, key, 'ort');
    const tmp = `${final}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      const session = await a.create(original, { optimization: TIERS[tier].save, saveOptimizedTo: tmp });
      const written = await readFile(tmp);
      const info: EntryInfo = {
        kind: 'cai-ort-cache-entry',
        format: CACHE_FORMAT,
        model: modelSha,
        runtime: runtimeVersion(),
        device: a.device,
        level: TIERS[tier].save,
        cpu: tier === 'exact' ? cpuFingerprint() : arch(),
        bytes: written.byteLength,
        sha256: sha256(written),
        createdAt: new Date().toISOString(),
      };
      // The side file first: an entry whose .ort exists is complete, and its size is known.
      await writeFile(entryPath(a.dir, key, 'json'), JSON.stringify(info, null, 2) + '\n');
      await rename(tmp, final);
      if (first) await session.release();
      else first = session;
    } catch (err) {
      await rm(tmp, { force: true });
      if (first) continue;
      // A store that failed (disk full, a race on the directory) still leaves a session to open.
      debug(`could not store entry ${key} (${err instanceof Error ? err.message : String(err)})`);
      return createFresh(a, original, t0, 'unstored');
    }
  }
  await prune(a.dir);
  return { session: first!, cache: 'written', readMs, createMs: performance.now() - c0 };
}

async function createFresh(a: CacheOpenArgs, bytes: Uint8Array, t0: number, cache: CacheOutcome): Promise<CachedOpen> {
  const readMs = performance.now() - t0;
  const c0 = performance.now();
  const session = await a.create(bytes, { optimization: 'all' });
  return { session, cache, readMs, createMs: performance.now() - c0 };
}

/**
 * Write every entry of a model ahead of its first session (an image build): this CPU's and the portable
 * one. Returns the outcome; `unstored` when the directory is not writable.
 */
export async function fillCache(a: CacheOpenArgs): Promise<CacheOutcome> {
  const original = await a.readModel();
  if (original.byteLength < MIN_CACHED_MODEL_BYTES) return 'off';
  if (!(await writable(a.dir)) || externalDataRefs(original, '(model)').length > 0) return 'unstored';
  const opened = await storeEntries(a, original, (await modelSha256(a.dir, a.model, async () => original)).sha256, ['exact', 'portable'], performance.now());
  await opened.session.release();
  return opened.cache;
}

/** The model's sha256 and size: from the file's memo when the file is unchanged since, else by reading it. */
async function modelSha256(dir: string, model: string | Uint8Array, read: () => Promise<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  if (typeof model !== 'string') return { sha256: sha256(model), bytes: model.byteLength };
  const path = await realpath(model).catch(() => resolve(model));
  const memoFile = join(dir, 'files', `${sha256(path).slice(0, 32)}.json`);
  const s = await stat(path, { bigint: true }).catch(() => undefined);
  const id = s ? fileIdentity(s) : '';
  if (s) {
    const memo = await readFile(memoFile, 'utf8').then((t) => parseJson(t) as Partial<FileMemo> | undefined, () => undefined);
    if (memo && typeof memo.sha256 === 'string' && memo.path === path && memo.id === id && /^[0-9a-f]{64}$/.test(memo.sha256)) return { sha256: memo.sha256, bytes: Number(s.size) };
  }
  const bytes = await read();
  const sum = sha256(bytes);
  if (s && bytes.byteLength >= MIN_CACHED_MODEL_BYTES) {
    await mkdir(join(dir, 'files'), { recursive: true })
      .then(() => writeAtomically(memoFile, JSON.stringify({ path, id, sha256: sum } satisfies FileMemo) + '\n'))
      .catch(() => undefined);
  }
  return { sha256: sum, bytes: bytes.byteLength };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** An entry's bytes, when it is there, whole, unchanged and made by this cache format; else undefined (a broken one is removed). */
async function readEntry(dir: string, key: string): Promise<Uint8Array | undefined> {
  const text = await readFile(entryPath(dir, key, 'json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const info = parseJson(text) as Partial<EntryInfo> | undefined;
  const file = entryPath(dir, key, 'ort');
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size < 0) return undefined;
  const wellFormed = typeof info === 'object' && info !== null && info.kind === 'cai-ort-cache-entry' && info.format === CACHE_FORMAT && typeof info.sha256 === 'string' && /^[0-9a-f]{64}$/.test(info.sha256);
  if (!wellFormed || info.bytes !== size || size > MAX_ENTRY_BYTES) {
    debug(`entry ${key} is incomplete or of another format; removing it`);
    await removeEntry(dir, key);
    return undefined;
  }
  const bytes = await readHashed(file, size).catch(() => undefined);
  if (!bytes || bytes.sha256 !== info.sha256) {
    debug(`entry ${key} does not match its sha256; removing it`);
    await removeEntry(dir, key);
    return undefined;
  }
  return bytes.data;
}

/** A file of known size read into one buffer (the one the session will use in place), hashed slice by slice as it arrives. */
async function readHashed(file: string, size: number): Promise<{ data: Uint8Array; sha256: string }> {
  const data = new Uint8Array(size);
  const hash = createHash('sha256');
  const fh = await open(file, 'r');
  try {
    let at = 0;
    let reading = size > 0 ? fh.read(data, 0, Math.min(READ_SLICE_BYTES, size), 0) : undefined;
    while (reading) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) throw new Error('file shorter than its size');
      const from = at;
      at += bytesRead;
      reading = at < size ? fh.read(data, at, Math.min(READ_SLICE_BYTES, size - at), at) : undefined;
      hash.update(data.subarray(from, at));
    }
  } finally {
    await fh.close();
  }
  return { data, sha256: hash.digest('hex') };
}

/** An entry's file: its name is the hex key alone, so it cannot leave the cache directory whatever the model is called. */
export function entryPath(dir: string, key: string, ext: 'ort' | 'json'): string {
  if (!/^[0-9a-f]{40}$/.test(key)) throw new Error(`not a cache key: ${key}`);
  return join(dir, `${key}.${ext}`);
}

async function removeEntry(dir: string, key: string): Promise<void> {
  await Promise.all([rm(entryPath(dir, key, 'ort'), { force: true }), rm(entryPath(dir, key, 'json'), { force: true })]).catch(() => undefined);
}

async function writable(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Keep the most recently used entries; remove the rest, and temporary files a crashed writer left. */
async function prune(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries: { key: string; mtime: number }[] = [];
  for (const n of names) {
    const m = /^([0-9a-f]{40})\.ort$/.exec(n);
    if (m) entries.push({ key: m[1]!, mtime: await stat(join(dir, n)).then((s) => s.mtimeMs, () => 0) });
    else if (/\.tmp$/.test(n)) {
      const age = await stat(join(dir, n)).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 3_600_000) await rm(join(dir, n), { force: true });
    }
  }
  entries.sort((x, y) => y.mtime - x.mtime);
  for (const e of entries.slice(MAX_CACHE_ENTRIES)) await removeEntry(dir, e.key);
}

/** JSON text's value, or undefined for text that is not JSON (a side file cut short, or written over). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function debug(line: string): void {
  if (process.env.CAI_DEBUG) process.stderr.write(`cai: session cache: ${line}\n`);
}
