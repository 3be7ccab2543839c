// Shared pieces of the hostile-input tests: valid files to start from, raw writers for files no honest
// writer produces, and the refusal check every test makes (the project's error type, its exit code, one
// line that starts with the file).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, ExitCode, ModelError } from '../../src/errors.js';
import { tensorSpecs } from '../../src/data/manifest.js';
import { encodePartition, type Partition } from '../../src/data/partition.js';

export { samples } from '../data/helpers/samples.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'cai-hostile-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A safetensors file with any header and data, as a hostile writer would make it. */
export function rawSafetensors(header: unknown, data: Uint8Array | number): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface RawPartition {
  bytes: Uint8Array;
  samples: number;
  firstObjectId?: string;
  lastObjectId?: string;
}

/** Write partitions as given and a manifest that describes them truthfully (sizes, checksums, counts). */
export function writeDataset(dir: string, parts: RawPartition[], labelled = true, extra: Record<string, unknown> = {}): string {
  mkdirSync(join(dir, 'partitions'), { recursive: true });
  const entries = parts.map((p, i) => {
    const path = `partitions/part-${String(i).padStart(5, '0')}.safetensors`;
    writeFileSync(join(dir, path), p.bytes);
    return {
      path,
      samples: p.samples,
      bytes: p.bytes.byteLength,
      sha256: sha256(p.bytes),
      ...(p.firstObjectId !== undefined ? { firstObjectId: p.firstObjectId } : {}),
      ...(p.lastObjectId !== undefined ? { lastObjectId: p.lastObjectId } : {}),
    };
  });
  const manifest = {
    schemaVersion: 1,
    bands: ['u', 'g', 'r', 'i', 'z'],
    labelled,
    format: 'safetensors',
    tensors: tensorSpecs(labelled),
    samples: parts.reduce((s, p) => s + p.samples, 0),
    bytes: parts.reduce((s, p) => s + p.bytes.byteLength, 0),
    partitions: entries,
    ...extra,
  };
  const file = join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(manifest));
  return file;
}

/** A partition as the writer makes it, with the ids recorded for the manifest. */
export function partition(p: Partition): RawPartition {
  return { bytes: encodePartition(p), samples: p.count, firstObjectId: p.objectId[0]?.toString(), lastObjectId: p.objectId[p.count - 1]?.toString() };
}

function checkRefusal(e: unknown, Type: typeof DataError | typeof ModelError, code: number, file: string | RegExp, problem: RegExp): true {
  assert.ok(e instanceof Type, `expected a ${Type.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  assert.equal(e.exitCode, code);
  assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
  if (typeof file === 'string') assert.ok(e.message.startsWith(`${file}: `), `names the file ${file}: ${e.message}`);
  else assert.match(e.message, file);
  assert.match(e.message, problem);
  return true;
}

/** A predicate for assert.rejects / assert.throws: a DataError (exit 3) naming `file`, matching `problem`. */
export function dataError(file: string | RegExp, problem: RegExp): (e: unknown) => true {
  return (e) => checkRefusal(e, DataError, ExitCode.data, file, problem);
}

/** The same for a ModelError (exit 4). */
export function modelError(file: string | RegExp, problem: RegExp): (e: unknown) => true {
  return (e) => checkRefusal(e, ModelError, ExitCode.model, file, problem);
}

/** Run the CLI from source in a child process. */
export async function cai(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const root = new URL('../..', import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: opts.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
