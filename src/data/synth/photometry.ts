// Synthetic photometry: rest-frame spectral energy distributions from red (early type, strong 4000 A break)
// to blue (late type, weak break, emission lines), observed through approximate SDSS ugriz filters at
// redshift z. The tables give observed colours and k-corrections on a (z, type) grid; the generator
// interpolates them, so colour-redshift tracks come from the break and lines moving through the filters.

/** Knots of the rest-frame SEDs: wavelength in Angstrom, AB magnitude (f_nu) up to a constant. */
const SED_WAVELENGTH = [2000, 2500, 3000, 3500, 3800, 3950, 4050, 4200, 4500, 5000, 5500, 6000, 6500, 7000, 8000, 9000, 10000, 12000];
/** An old stellar population (elliptical): steep UV, strong 4000 A break. */
const SED_RED = [6.3, 4.8, 3.5, 2.6, 2.2, 2.0, 1.45, 1.12, 0.8, 0.42, 0.18, 0.0, -0.15, -0.3, -0.5, -0.62, -0.72, -0.85];
/** A star-forming disc: flat UV, weak break. */
const SED_BLUE = [1.6, 1.5, 1.45, 1.25, 1.05, 0.9, 0.62, 0.5, 0.38, 0.22, 0.1, 0.0, -0.08, -0.15, -0.27, -0.35, -0.4, -0.5];

/** Rest-frame emission lines of the bluest type: wavelength (A) and equivalent width (A). */
const LINES: readonly [number, number][] = [
  [3727, 30], // [O II]
  [4861, 12], // H beta
  [5007, 18], // [O III]
  [6563, 55], // H alpha + [N II]
  [6725, 10], // [S II]
];

/** Approximate SDSS filter half-power edges (A); edges are logistic with a 50 A scale. */
export const FILTER_EDGES: readonly [number, number][] = [
  [3220, 3870],
  [3990, 5360],
  [5540, 6880],
  [6920, 8240],
  [8200, 9750],
];
const EDGE_WIDTH = 50;

export const Z_GRID_STEP = 0.0025;
export const Z_GRID_MAX = 0.6;
export const T_GRID_STEP = 0.05;
const NZ = Math.round(Z_GRID_MAX / Z_GRID_STEP) + 1;
const NT = Math.round(1 / T_GRID_STEP) + 1;

function interpKnots(x: number, xs: readonly number[], ys: readonly number[]): number {
  if (x <= xs[0]!) return ys[0]! + ((ys[1]! - ys[0]!) / (xs[1]! - xs[0]!)) * (x - xs[0]!);
  const last = xs.length - 1;
  if (x >= xs[last]!) return ys[last]! + ((ys[last]! - ys[last - 1]!) / (xs[last]! - xs[last - 1]!)) * (x - xs[last]!);
  let i = 1;
  while (xs[i]! < x) i++;
  const f = (x - xs[i - 1]!) / (xs[i]! - xs[i - 1]!);
  return ys[i - 1]! + f * (ys[i]! - ys[i - 1]!);
}

/** Rest-frame AB magnitude of type t (0 red .. 1 blue) at wavelength lambda. */
export function restSedMag(lambda: number, t: number): number {
  return (1 - t) * interpKnots(lambda, SED_WAVELENGTH, SED_RED) + t * interpKnots(lambda, SED_WAVELENGTH, SED_BLUE);
}

/** Emission-line strength relative to the bluest type: none on the red sequence. */
export function lineStrength(t: number): number {
  const x = Math.min(Math.max((t - 0.3) / 0.7, 0), 1);
  return x * x;
}

function transmission(band: number, lambda: number): number {
  const [lo, hi] = FILTER_EDGES[band]!;
  return 1 / (1 + Math.exp(-(lambda - lo) / EDGE_WIDTH)) / (1 + Math.exp(-(hi - lambda) / EDGE_WIDTH));
}

/** AB magnitude (up to the SED constant) of type t at redshift z through `band`, photon-counting; direct
 * integration, slow: the generator uses the tabulated `sedMag`. */
export function bandMag(band: number, z: number, t: number): number {
  const [lo, hi] = FILTER_EDGES[band]!;
  const step = 10;
  let num = 0;
  let den = 0;
  for (let lam = lo - 6 * EDGE_WIDTH; lam <= hi + 6 * EDGE_WIDTH; lam += step) {
    const w = transmission(band, lam) / lam;
    num += w * 10 ** (-0.4 * restSedMag(lam / (1 + z), t));
    den += w;
  }
  num = num * step + lineFlux(band, z, t);
  den *= step;
  return -2.5 * Math.log10(num / den);
}

// The (z, t) table is built lazily on first use (about 20 ms) so loading this module costs nothing.
// Each type's SED is sampled once on a uniform ln(lambda) grid; redshifting is then a shift on that grid.
const LOG_STEP = 0.001;
const LOG_LAMBDA0 = Math.log(1200);
const N_REST = Math.ceil((Math.log(12500) - LOG_LAMBDA0) / LOG_STEP) + 1;

function buildTable(): Float64Array {
  const restFnu: Float64Array[] = [];
  for (let it = 0; it < NT; it++) {
    const f = new Float64Array(N_REST);
    for (let j = 0; j < N_REST; j++) f[j] = 10 ** (-0.4 * restSedMag(Math.exp(LOG_LAMBDA0 + j * LOG_STEP), it * T_GRID_STEP));
    restFnu.push(f);
  }
  const out = new Float64Array(5 * NZ * NT);
  for (let b = 0; b < 5; b++) {
    const [lo, hi] = FILTER_EDGES[b]!;
    const jLo = Math.floor((Math.log(lo - 6 * EDGE_WIDTH) - LOG_LAMBDA0) / LOG_STEP);
    const jHi = Math.ceil((Math.log(hi + 6 * EDGE_WIDTH) - LOG_LAMBDA0) / LOG_STEP);
    // Photon counting: weight T(lambda) dlambda / lambda = T d(ln lambda), uniform on this grid.
    const weight = new Float64Array(jHi - jLo + 1);
    let den = 0;
    for (let j = jLo; j <= jHi; j++) den += weight[j - jLo] = transmission(b, Math.exp(LOG_LAMBDA0 + j * LOG_STEP));
    for (let iz = 0; iz < NZ; iz++) {
      const z = iz * Z_GRID_STEP;
      const shift = Math.log(1 + z) / LOG_STEP;
      const s0 = Math.floor(shift);
      const fs = shift - s0;
      for (let it = 0; it < NT; it++) {
        const f = restFnu[it]!;
        let num = 0;
        for (let j = jLo; j <= jHi; j++) {
          const k = j - s0; // rest-frame index of observed index j (minus the fractional part)
          num += weight[j - jLo]! * (f[k]! * (1 - fs) + f[k - 1]! * fs);
        }
        out[(b * NZ + iz) * NT + it] = -2.5 * Math.log10((num + lineFlux(b, z, it * T_GRID_STEP) / LOG_STEP) / den);
      }
    }
  }
  return out;
}

/** A line of equivalent width EW adds EW_obs * f_nu(continuum at the line), weighted like the continuum:
 * the band-weighted line flux, in the same units as the continuum integral times the grid step. */
function lineFlux(band: number, z: number, t: number): number {
  const ls = lineStrength(t);
  if (ls === 0) return 0;
  let sum = 0;
  for (const [rest, ew] of LINES) {
    const obs = rest * (1 + z);
    sum += (transmission(band, obs) / obs) * ew * ls * (1 + z) * 10 ** (-0.4 * restSedMag(rest, t));
  }
  return sum;
}

let TABLE_CACHE: Float64Array | undefined;

/** Bilinear lookup of the tabulated SED magnitude. */
export function sedMag(band: number, z: number, t: number): number {
  const x = Math.min(Math.max(z, 0), Z_GRID_MAX) / Z_GRID_STEP;
  const y = Math.min(Math.max(t, 0), 1) / T_GRID_STEP;
  const iz = Math.min(Math.floor(x), NZ - 2);
  const it = Math.min(Math.floor(y), NT - 2);
  const fz = x - iz;
  const ft = y - it;
  const base = (band * NZ + iz) * NT + it;
  const TABLE = (TABLE_CACHE ??= buildTable());
  const a = TABLE[base]! * (1 - ft) + TABLE[base + 1]! * ft;
  const b = TABLE[base + NT]! * (1 - ft) + TABLE[base + NT + 1]! * ft;
  return a * (1 - fz) + b * fz;
}

/** k-correction of the r band (AB), so that r = M_r + DM(z) + K_r(z, t). */
export function kCorrectionR(z: number, t: number): number {
  return -2.5 * Math.log10(1 + z) + sedMag(2, z, t) - sedMag(2, 0, t);
}

/** Observed colour m_band - m_r of type t at redshift z, before intrinsic scatter. */
export function colourToR(band: number, z: number, t: number): number {
  return sedMag(band, z, t) - sedMag(2, z, t);
}
