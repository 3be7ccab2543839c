// The image half of the generator: a Sersic profile, convolved with a Gaussian seeing PSF "in quadrature",
// rendered once at the sharpest band's PSF; a second copy is blurred with a small separable Gaussian up to
// the worst band's PSF; each band blends the two by PSF variance and scales by its flux, plus sky noise.
//
// Convolving in quadrature: the convolved profile is approximated by a Sersic profile whose axes grow as
// sqrt(r_e^2 + (FWHM/2)^2) (the half-light radius of a Gaussian is FWHM/2) and whose index moves towards
// 0.5 (a Gaussian) as the PSF dominates. Exact for a Gaussian galaxy, close for others, and it costs one
// table lookup per pixel instead of a 2-D convolution.
import { IMAGE_SIZE as IMAGE_SIZE_EXPORT, N_BANDS as N_BANDS_EXPORT } from '../manifest.js';
import { SKY_SIGMA, magToFlux, type SynthGalaxy } from './catalog.js';
import { NOISE_TABLE as NOISE_TABLE_EXPORT, hash3, hi32 } from './random.js';

const NOISE_TABLE: Float32Array = NOISE_TABLE_EXPORT;

// Local copies: some module loaders turn imported bindings into getter calls, too slow for pixel loops.
const IMAGE_SIZE: number = IMAGE_SIZE_EXPORT;
const N_BANDS: number = N_BANDS_EXPORT;
const NPIX = IMAGE_SIZE * IMAGE_SIZE;
const SKY: Float64Array = Float64Array.from(SKY_SIGMA);
const TABLE_STEPS = 128;
const table = new Float64Array(TABLE_STEPS + 2);
const narrow = new Float64Array(NPIX);
const wide = new Float64Array(NPIX);
const rows = new Float64Array(NPIX);

/** Separable 5-tap Gaussian blur of standard deviation `sigma` pixels (zero outside the cutout). */
export function blur(src: Float64Array, dst: Float64Array, sigma: number): void {
  if (sigma < 0.05) {
    dst.set(src);
    return;
  }
  const e1 = Math.exp(-1 / (2 * sigma * sigma));
  const e2 = Math.exp(-4 / (2 * sigma * sigma));
  const norm = 1 / (1 + 2 * e1 + 2 * e2);
  const k0 = norm;
  const k1 = e1 * norm;
  const k2 = e2 * norm;
  const W = IMAGE_SIZE;
  // Rows: the two pixels at each end have fewer neighbours; the middle runs without branches.
  for (let y = 0; y < W; y++) {
    const r = y * W;
    rows[r] = k0 * src[r]! + k1 * src[r + 1]! + k2 * src[r + 2]!;
    rows[r + 1] = k0 * src[r + 1]! + k1 * (src[r]! + src[r + 2]!) + k2 * src[r + 3]!;
    for (let p = r + 2; p < r + W - 2; p++) rows[p] = k0 * src[p]! + k1 * (src[p - 1]! + src[p + 1]!) + k2 * (src[p - 2]! + src[p + 2]!);
    const e = r + W - 1;
    rows[e - 1] = k0 * src[e - 1]! + k1 * (src[e - 2]! + src[e]!) + k2 * src[e - 3]!;
    rows[e] = k0 * src[e]! + k1 * src[e - 1]! + k2 * src[e - 2]!;
  }
  // Columns: same, one whole row at a time.
  for (let y = 0; y < W; y++) {
    const r = y * W;
    const up1 = y >= 1 ? k1 : 0;
    const up2 = y >= 2 ? k2 : 0;
    const dn1 = y + 1 < W ? k1 : 0;
    const dn2 = y + 2 < W ? k2 : 0;
    // Offsets are clamped to stay in the array; their weights are zero where they would leave the cutout.
    const o1u = y >= 1 ? -W : 0;
    const o2u = y >= 2 ? -2 * W : 0;
    const o1d = y + 1 < W ? W : 0;
    const o2d = y + 2 < W ? 2 * W : 0;
    for (let p = r; p < r + W; p++) dst[p] = k0 * rows[p]! + up1 * rows[p + o1u]! + up2 * rows[p + o2u]! + dn1 * rows[p + o1d]! + dn2 * rows[p + o2d]!;
  }
}

/** Sersic b_n (Ciotti & Bertin 1999 expansion; good to 1e-3 for n >= 0.36). */
export function sersicB(n: number): number {
  return 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n * n) + 131 / (1148175 * n * n * n);
}

/** Gamma function for x > 0 (Lanczos, g = 7). */
export function gamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x));
  const xx = x - 1;
  let a = c[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (xx + i);
  return Math.sqrt(2 * Math.PI) * t ** (xx + 0.5) * Math.exp(-t) * a;
}

/**
 * Render a unit-total-flux profile (per pixel, point-sampled at pixel centres) into `out`.
 * `re` is the effective radius along the major axis and `q` the axis ratio, both before the PSF.
 */
export function renderProfile(out: Float64Array, re: number, q: number, pa: number, n: number, fwhm: number, cx: number, cy: number): void {
  const s2 = (fwhm / 2) ** 2;
  const a = Math.sqrt(re * re + s2);
  const b = Math.sqrt(re * re * q * q + s2);
  const nc = 0.5 + ((n - 0.5) * (re * re * q)) / (a * b);
  const bn = sersicB(nc);
  const total = 2 * Math.PI * nc * Math.exp(bn) * bn ** (-2 * nc) * gamma(2 * nc) * a * b;
  // Farthest pixel centre from the galaxy centre, in units of the minor axis: the table covers every pixel.
  const far = Math.hypot(Math.max(cx, IMAGE_SIZE - cx), Math.max(cy, IMAGE_SIZE - cy));
  const rhoMax = far / b;
  const step = rhoMax / TABLE_STEPS;
  const invN = 1 / nc;
  const norm = Math.log(1 / total) + bn;
  table[0] = Math.exp(norm);
  for (let k = 1; k <= TABLE_STEPS + 1; k++) {
    // exp/log instead of ** : the same value, about twice as fast in V8.
    table[k] = Math.exp(norm - bn * Math.exp(invN * Math.log(k * step)));
  }
  const cos = Math.cos(pa);
  const sin = Math.sin(pa);
  const ia2 = 1 / (a * a);
  const ib2 = 1 / (b * b);
  const A = cos * cos * ia2 + sin * sin * ib2;
  const B = 2 * cos * sin * (ia2 - ib2);
  const C = sin * sin * ia2 + cos * cos * ib2;
  const invStep = 1 / step;
  let p = 0;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const dy = y + 0.5 - cy;
    const cyy = C * dy * dy;
    const by = B * dy;
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const dx = x + 0.5 - cx;
      const pos = Math.sqrt(A * dx * dx + by * dx + cyy) * invStep;
      const i = pos | 0;
      const f = pos - i;
      out[p++] = table[i]! + f * (table[i + 1]! - table[i]!);
    }
  }
}

/**
 * Write galaxy `index`'s 5x32x32 image (nanomaggies per pixel) at `offset` of `image`.
 * The sky noise comes from its own generator, so the catalogue draws never depend on rendering.
 */
export function renderGalaxy(g: SynthGalaxy, seed: number, index: number, image: Float32Array, offset: number): void {
  let fmin = Infinity;
  let fmax = 0;
  for (const f of g.psfFwhm) {
    if (f < fmin) fmin = f;
    if (f > fmax) fmax = f;
  }
  const cx = IMAGE_SIZE / 2 + g.dx;
  const cy = IMAGE_SIZE / 2 + g.dy;
  renderProfile(narrow, g.rePixels, g.axisRatio, g.positionAngle, g.sersicN, fmin, cx, cy);
  // Gaussians add in variance: blurring by sqrt(s_max^2 - s_min^2) turns the sharpest PSF into the worst.
  blur(narrow, wide, Math.sqrt(fmax * fmax - fmin * fmin) / 2.3548);
  // xorshift32: one 32-bit draw gives two 16-bit indices into the Gaussian table.
  let state = hash3(seed >>> 0, index >>> 0, 0x51ce ^ hi32(seed) ^ (hi32(index) << 8)) || 0x2545f491;
  const span = fmax * fmax - fmin * fmin;
  const noise = NOISE_TABLE;
  for (let band = 0; band < N_BANDS; band++) {
    const flux = magToFlux(g.trueMag[band]!);
    const fb = g.psfFwhm[band]!;
    const w = span > 0 ? (fb * fb - fmin * fmin) / span : 0;
    const a0 = flux * (1 - w);
    const a1 = flux * w;
    const sigma = SKY[band]!;
    let o = offset + band * NPIX;
    for (let p = 0; p < NPIX; p += 2) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      image[o++] = a0 * narrow[p]! + a1 * wide[p]! + sigma * noise[state & 0xffff]!;
      image[o++] = a0 * narrow[p + 1]! + a1 * wide[p + 1]! + sigma * noise[(state >>> 16) & 0xffff]!;
    }
  }
}
