import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNTH_PARAMETERS, synthCatalog, synthesize, type SynthGalaxy } from '../../src/data/synth/generator.js';
import { synthesizeDataset } from '../../src/data/synth/write-dataset.js';
import { encodePartition, concatPartitions, checkValues } from '../../src/data/partition.js';
import { magToFlux } from '../../src/data/synth/catalog.js';
import { bandMag, sedMag } from '../../src/data/synth/photometry.js';
import { distanceModulus, angularDiameterDistanceMpc } from '../../src/data/synth/cosmology.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function std(values: number[]): number {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

// One shared catalogue for the distribution tests (the catalogue is cheap; images are not needed).
const CATALOG: SynthGalaxy[] = synthCatalog({ samples: 25_000, seed: 2024 });

test('same seed and index range give identical bytes; chunks equal one run; seeds differ', () => {
  const whole = synthesize({ samples: 90, seed: 11 });
  const again = synthesize({ samples: 90, seed: 11 });
  assert.equal(sha(encodePartition(whole)), sha(encodePartition(again)));
  const chunks = concatPartitions([synthesize({ samples: 25, seed: 11 }), synthesize({ samples: 40, seed: 11, startIndex: 25 }), synthesize({ samples: 25, seed: 11, startIndex: 65 })]);
  assert.equal(sha(encodePartition(chunks)), sha(encodePartition(whole)));
  const other = synthesize({ samples: 90, seed: 12 });
  assert.notEqual(sha(encodePartition(other)), sha(encodePartition(whole)));
  assert.notDeepEqual(Array.from(other.redshift!.subarray(0, 5)), Array.from(whole.redshift!.subarray(0, 5)));
  checkValues(whole, 'synth');
  // Large start indices and seeds work too (ids and noise stay distinct).
  const far = synthesize({ samples: 2, seed: 2 ** 40, startIndex: 2 ** 35 });
  assert.notEqual(far.objectId[0], far.objectId[1]);
  assert.equal(synthesize({ samples: 3, seed: 11, labelled: false }).redshift, undefined);
});

test('a synthetic data set written twice with the same seed has identical partition checksums', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-synth-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await synthesizeDataset(join(dir, 'a'), { samples: 120, seed: 5, partitionSamples: 50 });
  const b = await synthesizeDataset(join(dir, 'b'), { samples: 120, seed: 5, partitionSamples: 50 });
  assert.deepEqual(a.partitions.map((p) => p.samples), [50, 50, 20]);
  assert.deepEqual(a.partitions.map((p) => p.sha256), b.partitions.map((p) => p.sha256));
  assert.equal((a.source as { generator: string }).generator, 'cai-synth');
  const c = await synthesizeDataset(join(dir, 'c'), { samples: 120, seed: 6, partitionSamples: 50 });
  assert.notEqual(c.partitions[0]!.sha256, a.partitions[0]!.sha256);
});

test('object ids are unique SDSS-style 64-bit objIDs (skyVersion 2, rerun 301)', () => {
  const p = synthesize({ samples: 1200, seed: 3, startIndex: 1_999_500 });
  const ids = new Set(Array.from(p.objectId, (x) => x.toString()));
  assert.equal(ids.size, 1200);
  for (const id of [p.objectId[0]!, p.objectId[1199]!]) {
    assert.equal((id >> 59n) & 0xfn, 2n);
    assert.equal((id >> 48n) & 0x7ffn, 301n);
    const camcol = (id >> 29n) & 7n;
    assert.ok(camcol >= 1n && camcol <= 6n);
    assert.ok(id > 1_000_000_000_000_000_000n && id < 2n ** 63n);
  }
});

test('cosmology matches flat LCDM (H0=70, Om=0.3) reference values', () => {
  // Reference: D_L(0.1) = 460.0 Mpc (Wright's cosmology calculator), so DM = 38.314.
  assert.ok(Math.abs(distanceModulus(0.1) - 38.314) < 0.003, `DM(0.1) = ${distanceModulus(0.1)}`);
  assert.ok(Math.abs(angularDiameterDistanceMpc(0.3) - 918.8) < 1, `DA(0.3) = ${angularDiameterDistanceMpc(0.3)}`);
});

test('tabulated synthetic photometry matches direct integration', () => {
  for (const [z, t] of [[0.1375, 0.35], [0.3, 0.9], [0.05, 0]] as const)
    for (let b = 0; b < 5; b++) assert.ok(Math.abs(sedMag(b, z, t) - bandMag(b, z, t)) < 0.01, `band ${b} z ${z} t ${t}`);
});

test('redshift distribution is SDSS main-sample-like', (t) => {
  const z = CATALOG.map((g) => g.redshift);
  const med = quantile(z, 0.5);
  t.diagnostic(`z quantiles 1/50/99%: ${quantile(z, 0.01).toFixed(3)} ${med.toFixed(3)} ${quantile(z, 0.99).toFixed(3)}, max ${Math.max(...z).toFixed(3)}`);
  assert.ok(med > 0.09 && med < 0.13, `median z ${med}`);
  assert.ok(quantile(z, 0.01) > 0.015 && quantile(z, 0.01) < 0.04);
  assert.ok(quantile(z, 0.99) > 0.22 && quantile(z, 0.99) < 0.33);
  assert.ok(Math.min(...z) >= SYNTH_PARAMETERS.redshift.min && Math.max(...z) <= SYNTH_PARAMETERS.redshift.max);
  assert.ok(Math.max(...z) > 0.35, 'a tail reaches beyond 0.35');
  const inMain = z.filter((x) => x >= 0.02 && x <= 0.3).length / z.length;
  assert.ok(inMain > 0.96, `fraction in 0.02-0.3: ${inMain}`);
});

test('r-band magnitudes stop at the main-sample limit; sizes follow the angular-diameter distance', () => {
  const rTrue = CATALOG.map((g) => g.trueMag[2]!);
  assert.ok(Math.max(...rTrue) <= SYNTH_PARAMETERS.selection.rFaint + 1e-9);
  assert.ok(Math.min(...rTrue) >= SYNTH_PARAMETERS.selection.rBright - 1e-9);
  const rObs = CATALOG.map((g) => g.mag[2]!);
  assert.ok(quantile(rObs, 0.995) < 17.9, 'measured r scatters only slightly past the limit');
  assert.ok(quantile(rObs, 0.5) > 16.8, 'most galaxies are near the faint limit, as in a flux-limited sample');
  // At fixed luminosity and type, apparent size falls as 1 / D_A(z).
  const sel = (lo: number, hi: number): number => {
    const re = CATALOG.filter((g) => g.absMagR > -22.5 && g.absMagR < -22 && g.type < 0.2 && g.redshift > lo && g.redshift < hi).map((g) => g.rePixels);
    assert.ok(re.length >= 30, `${re.length} galaxies in z ${lo}-${hi}`);
    return quantile(re, 0.5);
  };
  const ratio = sel(0.06, 0.1) / sel(0.16, 0.2);
  const expected = angularDiameterDistanceMpc(0.18) / angularDiameterDistanceMpc(0.08);
  assert.ok(Math.abs(ratio / expected - 1) < 0.15, `size ratio ${ratio}, 1/D_A predicts ${expected}`);
});

test('colours carry intrinsic scatter of at least 0.05 mag at fixed redshift and type', (t) => {
  const bin = CATALOG.filter((g) => g.redshift > 0.09 && g.redshift < 0.11 && g.type < 0.2);
  assert.ok(bin.length > 300, `bin holds ${bin.length}`);
  const colour = (g: SynthGalaxy, a: number, b: number, measured: boolean): number => (measured ? g.mag : g.trueMag)[a]! - (measured ? g.mag : g.trueMag)[b]!;
  for (const [a, b, name] of [[0, 1, 'u-g'], [1, 2, 'g-r'], [2, 3, 'r-i'], [3, 4, 'i-z']] as const) {
    const intrinsic = std(bin.map((g) => colour(g, a, b, false)));
    const measured = std(bin.map((g) => colour(g, a, b, true)));
    t.diagnostic(`${name}: intrinsic ${intrinsic.toFixed(3)} measured ${measured.toFixed(3)} (red, z 0.09-0.11, n=${bin.length})`);
    assert.ok(intrinsic >= 0.05, `${name} intrinsic scatter ${intrinsic}`);
    assert.ok(measured > intrinsic, `${name}: measurement adds noise`);
  }
});

test('photometric errors are SDSS-like at the faint end: 0.02-0.05 in g, r, i, larger in u and z', (t) => {
  const faint = CATALOG.filter((g) => g.trueMag[2]! > 17.5);
  const medErr = [0, 1, 2, 3, 4].map((b) => quantile(faint.map((g) => (1.0857 * g.fluxErr[b]!) / magToFlux(g.trueMag[b]!)), 0.5));
  t.diagnostic(`median errors at r > 17.5 (ugriz): ${medErr.map((e) => e.toFixed(3)).join(' ')}`);
  for (const b of [1, 2, 3]) assert.ok(medErr[b]! >= 0.02 && medErr[b]! <= 0.05, `band ${b}: ${medErr[b]}`);
  assert.ok(medErr[0]! > medErr[1]! && medErr[4]! > medErr[2]!);
});

test('red galaxies get redder in g-r steeply with redshift (4000 A break moving through g)', () => {
  const gr = (lo: number, hi: number): number => {
    const sel = CATALOG.filter((g) => g.type < 0.15 && g.redshift > lo && g.redshift < hi).map((g) => g.mag[1]! - g.mag[2]!);
    return quantile(sel, 0.5);
  };
  const low = gr(0.03, 0.06);
  const high = gr(0.22, 0.28);
  assert.ok(high - low > 0.5, `g-r ${low} -> ${high}`);
  const blueLow = quantile(CATALOG.filter((g) => g.type > 0.7 && g.redshift < 0.06).map((g) => g.mag[1]! - g.mag[2]!), 0.5);
  assert.ok(blueLow < low - 0.2, 'blue galaxies are bluer');
});

test('redshift is learnable from the magnitudes alone: kNN photo-z on 20k, scored on 5k held out', (t) => {
  const feats = CATALOG.map((g) => {
    const m = g.mag;
    // Colours, with u-g down-weighted (noisy) and r as a weak luminosity prior.
    return [0.5 * (m[0]! - m[1]!), m[1]! - m[2]!, m[2]! - m[3]!, m[3]! - m[4]!, 0.1 * m[2]!];
  });
  const nTrain = 20_000;
  const k = 20;
  const dz: number[] = [];
  const bestD = new Float64Array(k);
  const bestZ = new Float64Array(k);
  for (let i = nTrain; i < CATALOG.length; i++) {
    const fi = feats[i]!;
    bestD.fill(Infinity);
    for (let j = 0; j < nTrain; j++) {
      const fj = feats[j]!;
      let d = 0;
      for (let c = 0; c < 5; c++) d += (fi[c]! - fj[c]!) ** 2;
      if (d >= bestD[k - 1]!) continue;
      let pos = k - 1;
      while (pos > 0 && bestD[pos - 1]! > d) {
        bestD[pos] = bestD[pos - 1]!;
        bestZ[pos] = bestZ[pos - 1]!;
        pos--;
      }
      bestD[pos] = d;
      bestZ[pos] = CATALOG[j]!.redshift;
    }
    const zPred = quantile(Array.from(bestZ), 0.5);
    const zTrue = CATALOG[i]!.redshift;
    dz.push((zPred - zTrue) / (1 + zTrue));
  }
  const med = quantile(dz, 0.5);
  const nmad = 1.4826 * quantile(dz.map((d) => Math.abs(d - med)), 0.5);
  const outliers = dz.filter((d) => Math.abs(d) > 0.15).length / dz.length;
  const bias = dz.reduce((a, b) => a + b, 0) / dz.length;
  t.diagnostic(`kNN (k=${k}) on magnitudes: sigma_NMAD ${nmad.toFixed(4)}, outliers ${(100 * outliers).toFixed(2)}%, bias ${bias.toFixed(4)}`);
  assert.ok(nmad < 0.025, `sigma_NMAD ${nmad}`);
  assert.ok(outliers < 0.02, `outlier fraction ${outliers}`);
  assert.ok(Math.abs(bias) < 0.005, `bias ${bias}`);
});

test('images: band fluxes, sky noise per band, centred profiles', () => {
  const n = 400;
  const p = synthesize({ samples: n, seed: 77 });
  const cat = synthCatalog({ samples: n, seed: 77 });
  // Sky noise: corner 6x6 pixels of galaxies small enough to leave the corners empty.
  const corner: number[][] = [[], [], [], [], []];
  const fluxRatio: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = cat[i]!;
    for (let b = 0; b < 5; b++) {
      const base = i * 5120 + b * 1024;
      if (g.rePixels < 4) for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) corner[b]!.push(p.image[base + y * 32 + x]!);
    }
    if (g.rePixels < 3) {
      let sum = 0;
      for (let k = 0; k < 1024; k++) sum += p.image[i * 5120 + 2 * 1024 + k]!;
      fluxRatio.push(sum / magToFlux(g.trueMag[2]!));
    }
    // For compact (high surface brightness) galaxies the brightest r pixel sits within two pixels of the centre.
    if (g.rePixels > 4) continue;
    let best = -Infinity;
    let at = 0;
    for (let k = 0; k < 1024; k++) {
      const v = p.image[i * 5120 + 2 * 1024 + k]!;
      if (v > best) {
        best = v;
        at = k;
      }
    }
    assert.ok(Math.abs((at % 32) - 15.5) <= 2.5 && Math.abs(Math.floor(at / 32) - 15.5) <= 2.5, `galaxy ${i} peak at ${at % 32},${Math.floor(at / 32)}`);
  }
  const sky = SYNTH_PARAMETERS.skySigmaNanomaggiesPerPixel;
  for (let b = 0; b < 5; b++) {
    const s = std(corner[b]!);
    assert.ok(Math.abs(s - sky[b]!) / sky[b]! < 0.15, `band ${b}: corner std ${s} vs sky ${sky[b]}`);
  }
  assert.ok(fluxRatio.length > 5);
  const med = quantile(fluxRatio, 0.5);
  assert.ok(med > 0.9 && med < 1.1, `compact galaxies: image flux / catalogue flux = ${med}`);
});
