// Import throughput, printed as figures (not a test). Builds one synthetic data set of N samples as a
// PyTorch .pt (float32 TensorDataset), a stored .npz and an HDF5 file, then times
//   baseline  reading the .pt bytes from disk (fs.readFile)
//   read      readImportFile (decode + map to a native partition, in memory)
//   import    the whole `cai data import` path (decode, safetensors encode, sha256, atomic writes)
// and prints MB/s of input and the ratio to the baseline measured in the same run.
// Usage: node --import tsx test/data/importers/bench-import.ts [samples=2048]
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { readImportFile } from '../../../src/data/importers/index.js';
import { importFiles } from '../../../src/data/importers/import-job.js';
import { npyFloat32 } from './helpers/npy-writer.js';
import { bytesOf, torchZip } from './helpers/torch-writer.js';
import { writeZip } from './helpers/zip-writer.js';

const n = Number(process.argv[2] ?? 2048);
const dir = mkdtempSync(join(tmpdir(), 'cai-bench-import-'));
try {
  const images = new Float32Array(n * 5120).map((_, i) => (i % 251) / 10);
  const mags = new Float32Array(n * 5).map((_, i) => 15 + (i % 7));
  const z = new Float32Array(n).map((_, i) => (i % 100) / 100);

  const pt = join(dir, 'data.pt');
  writeFileSync(
    pt,
    torchZip({
      archive: 'data',
      storages: [
        { key: '0', type: 'FloatStorage', bytes: bytesOf(images) },
        { key: '1', type: 'FloatStorage', bytes: bytesOf(mags) },
        { key: '2', type: 'FloatStorage', bytes: bytesOf(z) },
      ],
      tensors: [
        { storage: '0', shape: [n, 5, 32, 32] },
        { storage: '1', shape: [n, 5] },
        { storage: '2', shape: [n] },
      ],
    }),
  );
  const npz = join(dir, 'data.npz');
  writeFileSync(npz, writeZip([
    { name: 'images.npy', data: npyFloat32([n, 5, 32, 32], images) },
    { name: 'magnitudes.npy', data: npyFloat32([n, 5], mags) },
    { name: 'redshifts.npy', data: npyFloat32([n], z) },
  ]));
  const h5 = join(dir, 'data.h5');
  await h5wasm.ready;
  const f = new h5wasm.File(h5, 'w');
  f.create_dataset({ name: 'images', data: images, shape: [n, 5, 32, 32] });
  f.create_dataset({ name: 'magnitudes', data: mags, shape: [n, 5] });
  f.create_dataset({ name: 'redshifts', data: z, shape: [n] });
  f.close();

  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    // Best of three: the figures are meant to be compared within one run.
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await fn();
      best = Math.min(best, performance.now() - t);
    }
    return best / 1000;
  };
  const mb = statSync(pt).size / 1e6;
  const baseline = await time(async () => readFileSync(pt));
  const rows: [string, number][] = [['baseline fs.readFile .pt', baseline]];
  for (const [label, file] of [['read .pt', pt], ['read .npz (stored)', npz], ['read .h5', h5]] as const) rows.push([label, await time(() => readImportFile(file))]);
  let k = 0;
  rows.push(['import .pt -> data set', await time(() => importFiles([pt], { out: join(dir, `out${k++}`) }))]);

  console.log(`import throughput: ${n} samples, ${mb.toFixed(1)} MB of input`);
  for (const [label, s] of rows) console.log(`  ${label.padEnd(26)} ${(s * 1000).toFixed(1).padStart(8)} ms  ${(mb / s).toFixed(0).padStart(6)} MB/s  x${(s / baseline).toFixed(1)} baseline`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
