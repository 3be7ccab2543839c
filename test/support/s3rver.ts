// A real S3-API server (s3rver) on loopback for tests, in a fresh temporary directory.
import S3rver from 's3rver';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Fixture {
  endpoint: string;
  bucket: string;
  /** A client configured for the loopback server (path-style, dummy credentials s3rver accepts). */
  client: S3Client;
  stop(): Promise<void>;
}

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startS3(bucket = 'cai-test'): Promise<S3Fixture> {
  const directory = mkdtempSync(join(tmpdir(), 'cai-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const info = (await server.run()) as { address: string; port: number };
  const endpoint = `http://127.0.0.1:${info.port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  return {
    endpoint,
    bucket,
    client,
    async stop() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
