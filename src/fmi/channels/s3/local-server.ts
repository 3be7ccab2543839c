// The loopback S3-API server (s3rver, a development dependency) in this process, in a fresh directory:
// for benchmarks and tests that name no bucket of their own (`cai fmi bench --channel s3`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnavailableError } from '../../../errors.js';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** What runs where. */
  describe: string;
  stop(): Promise<void>;
}

/** The loopback S3-API server (s3rver, a development dependency) in this process, in a fresh directory. */
export async function startS3Server(bucket = 'cai-fmi-bench'): Promise<LocalS3> {
  let S3rver: new (opts: object) => { run(): Promise<unknown>; close(): Promise<void> };
  try {
    // A development dependency, absent from production installs: load it by name at run time only.
    const name = 's3rver';
    S3rver = ((await import(name)) as { default: typeof S3rver }).default;
  } catch {
    throw new UnavailableError('s3rver is not installed (npm install --save-dev s3rver@3.7.1), and no S3 endpoint was given');
  }
  const directory = mkdtempSync(join(tmpdir(), 'cai-fmi-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const info = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    bucket,
    // s3rver accepts only its fixed development key pair.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    describe: `s3rver on 127.0.0.1:${info.port}`,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
