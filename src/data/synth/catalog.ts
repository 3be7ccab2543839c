// The catalogue half of the generator: redshift, type, luminosity, colours, size, shape, seeing and the
// measured magnitudes of each galaxy. Drawn from one small generator per galaxy, so it is the same whether
// or not images are rendered.
import { BANDS } from '../manifest.js';
import { arcsecPerKpc, distanceModulus } from './cosmology.js';
import { colourToR, kCorrectionR } from './photometry.js';
import { Sfc32, hash3, hi32 } from './random.js';

/** Every parameter of the generator, recorded in data set manifests. */
export const SYNTH_PARAMETERS = {
  version: 1,
  cosmology: { H0: 70, omegaM: 0.3, omegaLambda: 0.7 },
  redshift: { law: 'dN/dz ∝ z^2 exp(-(z/z0)^1.5)', z0: 0.075, min: 0.01, max: 0.5 },
  selection: { rFaint: 17.77, rBright: 14.5 },
  /** Type t runs from 0 (red, early) to 1 (blue, late); the red fraction rises with z as in a flux-limited sample. */
  types: { redFraction: 'min(0.8, 0.40 + 0.8 z)', red: { mean: 0.08, sigma: 0.06 }, blue: { mean: 0.62, sigma: 0.17, min: 0.25 } },
  luminosityFunction: { law: 'Schechter in M_r', mStar: '-21.45 + 0.55 t', alpha: '-0.55 - 0.75 t', range: [-25, -12] },
  /** Intrinsic scatter of each colour at fixed z and t, mag. */
  colourScatter: { 'u-g': 0.08, 'g-r': 0.055, 'r-i': 0.055, 'i-z': 0.055 },
  colourMagnitude: { 'u-g': -0.05, 'g-r': -0.03, note: 'per mag of M_r + 21, times (1 - t)' },
  size: { law: 'log10 Re[kpc] = log10 R0 - 0.4 beta (M_r + 21) + N(0, sigma)', R0: '3.5 + 1.0 t', beta: '0.65 - 0.35 t', sigmaDex: '0.12 + 0.06 t' },
  sersicIndex: { law: '4 - 3 t + N(0, 0.3), clipped to [0.7, 5]' },
  axisRatio: { early: 'U(0.6, 1)', late: 'sqrt(cos^2 i (1 - 0.2^2) + 0.2^2), cos i ~ U(0, 1)' },
  psf: { rFwhmArcsec: 'lognormal, median 1.35, sigma_ln 0.15, clipped to [0.9, 2.2]', bandFactor: [1.12, 1.06, 1.0, 0.96, 0.98] },
  pixelScaleArcsec: 0.396,
  imageSize: 32,
  units: { image: 'nanomaggies per pixel (sky-subtracted)', magnitude: 'SDSS asinh AB magnitudes', redshift: 'spectroscopic, exact' },
  skySigmaNanomaggiesPerPixel: [0.06, 0.05, 0.05, 0.11, 0.24],
  photometricFloorMag: [0.03, 0.02, 0.02, 0.02, 0.03],
  asinhSofteningMaggies: [1.4e-10, 0.9e-10, 1.2e-10, 1.8e-10, 7.4e-10],
} as const;

const P = SYNTH_PARAMETERS;
export const PIXEL_SCALE = P.pixelScaleArcsec;
export const SKY_SIGMA: readonly number[] = P.skySigmaNanomaggiesPerPixel;
const FLOOR = P.photometricFloorMag;
const SOFTENING = P.asinhSofteningMaggies;
const PSF_FACTOR = P.psf.bandFactor;

/** One galaxy's catalogue entry. */
export interface SynthGalaxy {
  redshift: number;
  type: number;
  absMagR: number;
  /** Magnitudes with intrinsic scatter, before measurement error (AB). */
  trueMag: number[];
  /** Measured asinh magnitudes (what the data set stores). */
  mag: number[];
  /** Flux errors (nanomaggies) used for the measurement. */
  fluxErr: number[];
  /** Effective radius along the major axis, pixels. */
  rePixels: number;
  axisRatio: number;
  positionAngle: number;
  sersicN: number;
  /** Centre offset from the cutout centre, pixels. */
  dx: number;
  dy: number;
  /** PSF FWHM per band, pixels. */
  psfFwhm: number[];
}

// --- luminosity function: cumulative tables per type, bright to faint ---
const M_MIN = P.luminosityFunction.range[0];
const M_MAX = P.luminosityFunction.range[1];
const M_STEP = 0.01;
const N_M = Math.round((M_MAX - M_MIN) / M_STEP) + 1;
const N_LF_T = 21;
const LF_CDF: Float64Array[] = Array.from({ length: N_LF_T }, (_, it) => {
  const t = it / (N_LF_T - 1);
  const mStar = -21.45 + 0.55 * t;
  const alpha = -0.55 - 0.75 * t;
  const cdf = new Float64Array(N_M);
  const phi = (m: number): number => {
    const x = 10 ** (0.4 * (mStar - m));
    return x ** (alpha + 1) * Math.exp(-x);
  };
  for (let i = 1; i < N_M; i++) {
    const m = M_MIN + i * M_STEP;
    cdf[i] = cdf[i - 1]! + (M_STEP * (phi(m - M_STEP) + phi(m))) / 2;
  }
  return cdf;
});

function lfCdfAt(cdf: Float64Array, m: number): number {
  const x = (Math.min(Math.max(m, M_MIN), M_MAX) - M_MIN) / M_STEP;
  const i = Math.min(Math.floor(x), N_M - 2);
  return cdf[i]! + (x - i) * (cdf[i + 1]! - cdf[i]!);
}

/** Absolute magnitude from the type's luminosity function, restricted to [bright, faint]. */
function drawAbsMag(rng: Sfc32, t: number, bright: number, faint: number): number {
  const cdf = LF_CDF[Math.round(t * (N_LF_T - 1))]!;
  const lo = lfCdfAt(cdf, bright);
  const hi = lfCdfAt(cdf, faint);
  const target = lo + rng.uniform() * (hi - lo);
  let a = 0;
  let b = N_M - 1;
  while (b - a > 1) {
    const mid = (a + b) >> 1;
    if (cdf[mid]! < target) a = mid;
    else b = mid;
  }
  const span = cdf[b]! - cdf[a]!;
  return M_MIN + (a + (span > 0 ? (target - cdf[a]!) / span : 0)) * M_STEP;
}

function drawRedshift(rng: Sfc32): number {
  const { z0, min, max } = P.redshift;
  for (;;) {
    // x ~ Gamma(2) gives z = z0 x^(2/3) with dN/dz ∝ z^2 exp(-(z/z0)^1.5).
    const x = -Math.log(rng.uniform() * rng.uniform());
    const z = z0 * x ** (2 / 3);
    if (z >= min && z <= max) return z;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function fluxToAsinhMag(fluxNmgy: number, band: number): number {
  const b = SOFTENING[band]!;
  return -(2.5 / Math.LN10) * (Math.asinh((fluxNmgy * 1e-9) / (2 * b)) + Math.log(b));
}

export function magToFlux(mag: number): number {
  return 10 ** (-0.4 * (mag - 22.5));
}

/** The catalogue entry of galaxy `index` for `seed`. */
export function synthGalaxy(seed: number, index: number): SynthGalaxy {
  const rng = new Sfc32(seed, index, 0);
  const z = drawRedshift(rng);
  const red = rng.uniform() < Math.min(0.8, 0.4 + 0.8 * z);
  const tn = rng.normal();
  const t = red ? clamp(P.types.red.mean + P.types.red.sigma * tn, 0, 1) : clamp(P.types.blue.mean + P.types.blue.sigma * tn, P.types.blue.min, 1);

  const dm = distanceModulus(z);
  const k = kCorrectionR(z, t);
  const absMagR = drawAbsMag(rng, t, P.selection.rBright - dm - k, P.selection.rFaint - dm - k);
  const r = absMagR + dm + k;

  const early = 1 - t;
  const cmr = absMagR + 21;
  const ug = colourToR(0, z, t) - colourToR(1, z, t) + P.colourScatter['u-g'] * rng.normal() + P.colourMagnitude['u-g'] * early * cmr;
  const gr = colourToR(1, z, t) + P.colourScatter['g-r'] * rng.normal() + P.colourMagnitude['g-r'] * early * cmr;
  const ri = -colourToR(3, z, t) + P.colourScatter['r-i'] * rng.normal();
  const iz = colourToR(3, z, t) - colourToR(4, z, t) + P.colourScatter['i-z'] * rng.normal();
  const g = r + gr;
  const i = r - ri;
  const trueMag = [g + ug, g, r, i, i - iz];

  const logRe = Math.log10(3.5 + 1.0 * t) - 0.4 * (0.65 - 0.35 * t) * cmr + (0.12 + 0.06 * t) * rng.normal();
  const rePixels = (10 ** logRe * arcsecPerKpc(z)) / PIXEL_SCALE;
  const axisRatio = t < 0.3 ? 0.6 + 0.4 * rng.uniform() : Math.sqrt(rng.uniform() ** 2 * (1 - 0.04) + 0.04);
  const positionAngle = Math.PI * rng.uniform();
  const sersicN = clamp(4 - 3 * t + 0.3 * rng.normal(), 0.7, 5);
  const dx = rng.uniform() - 0.5;
  const dy = rng.uniform() - 0.5;
  const seeing = clamp(1.35 * Math.exp(0.15 * rng.normal()), 0.9, 2.2);
  const psfFwhm = PSF_FACTOR.map((f) => (seeing * f) / PIXEL_SCALE);

  const mag: number[] = [];
  const fluxErr: number[] = [];
  for (let b = 0; b < BANDS.length; b++) {
    const f = magToFlux(trueMag[b]!);
    // Noise-equivalent area of the PSF-convolved galaxy (Gaussian of the same half-light radius).
    const sig = Math.sqrt(rePixels * rePixels * axisRatio + (psfFwhm[b]! / 2) ** 2) / 1.1774;
    const sky = SKY_SIGMA[b]! * Math.sqrt(4 * Math.PI * sig * sig);
    const err = Math.sqrt((0.921 * FLOOR[b]! * f) ** 2 + sky * sky);
    fluxErr.push(err);
    mag.push(fluxToAsinhMag(f + err * rng.normal(), b));
  }
  return { redshift: z, type: t, absMagR, trueMag, mag, fluxErr, rePixels, axisRatio, positionAngle, sersicN, dx, dy, psfFwhm };
}

/** An SDSS-style 64-bit objID (skyVersion 2, rerun 301, run, camcol, field, object), unique per (seed, index). */
export function synthObjectId(seed: number, index: number): bigint {
  const perField = 500;
  const fieldsPerCamcol = 4000;
  const perRun = perField * fieldsPerCamcol * 6;
  const run = 94 + (hash3(seed >>> 0, hi32(seed), 0x0b1d) % 8000) + Math.floor(index / perRun);
  const within = index % perRun;
  const camcol = 1 + Math.floor(within / (perField * fieldsPerCamcol));
  const field = 11 + (Math.floor(within / perField) % fieldsPerCamcol);
  const obj = 1 + (within % perField);
  return (2n << 59n) | (301n << 48n) | (BigInt(run) << 32n) | (BigInt(camcol) << 29n) | (BigInt(field) << 16n) | BigInt(obj);
}
