// Reading an ONNX model file: checked for existence, kind and size before any byte is read, and for
// external-data references that would leave the model's directory before the bytes are handed on.
import { readFile, stat } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { checkExternalData } from './external-data.js';
import { MAX_MODEL_BYTES } from './onnx/schema.js';

/** ONNX files larger than this are refused (protobuf itself caps a model at 2 GiB). */
export { MAX_MODEL_BYTES };

/** Fail early, with the file named, on a path that cannot be a model; returns its size. */
export async function checkModelFile(path: string): Promise<number> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ModelError(path, 'not a regular file');
    size = s.size;
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'model file not found' : `cannot read model (${(err as Error).message})`);
  }
  if (size > MAX_MODEL_BYTES) throw new ModelError(path, `model file is ${size} bytes, larger than the 2 GiB ONNX limit`);
  if (size === 0) throw new ModelError(path, 'model file is empty');
  return size;
}

export async function readModelBytes(path: string): Promise<Uint8Array> {
  await checkModelFile(path);
  let b: Buffer;
  try {
    b = await readFile(path);
  } catch (err) {
    throw new ModelError(path, `cannot read model (${(err as Error).message})`);
  }
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  await checkExternalData(bytes, path);
  return bytes;
}
