// A direct, unoptimized AstroMAE forward pass for one sample, written from the PyTorch module semantics
// (timm ViT, Conv-BatchNorm(eval)-ReLU inception branches, unfolded). The ONNX graph must agree with it.
import { ARCH, INCEPTION_BLOCKS, blockConvs, type Weights } from '../../src/model/params.js';
import type { Normalization } from '../../src/model/astromae.js';

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

type Vec = Float64Array;

function linear(w: Weights, prefix: string, x: Vec, out: number): Vec {
  const W = w.get(`${prefix}.weight`)!;
  const b = w.get(`${prefix}.bias`)!;
  const inp = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b[o]!;
    for (let i = 0; i < inp; i++) s += W[o * inp + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function layerNorm(w: Weights, prefix: string, x: Vec): Vec {
  const n = x.length;
  let m = 0;
  for (const v of x) m += v;
  m /= n;
  let v2 = 0;
  for (const v of x) v2 += (v - m) ** 2;
  v2 /= n;
  const g = w.get(`${prefix}.weight`)!;
  const b = w.get(`${prefix}.bias`)!;
  return x.map((v, i) => ((v - m) / Math.sqrt(v2 + ARCH.lnEps)) * g[i]! + b[i]!);
}

const relu = (x: Vec): Vec => x.map((v) => Math.max(0, v));

/** A CHW feature map. */
interface Map3 {
  c: number;
  h: number;
  w: number;
  d: Vec;
}

function conv(x: Map3, weight: Float32Array, bias: Float32Array | undefined, cout: number, k: number, stride: number, pad: number): Map3 {
  const ho = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(cout * ho * wo);
  for (let o = 0; o < cout; o++)
    for (let yy = 0; yy < ho; yy++)
      for (let xx = 0; xx < wo; xx++) {
        let s = bias ? bias[o]! : 0;
        for (let ci = 0; ci < x.c; ci++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = yy * stride + ky - pad;
              const ix = xx * stride + kx - pad;
              if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
              s += weight[((o * x.c + ci) * k + ky) * k + kx]! * x.d[(ci * x.h + iy) * x.w + ix]!;
            }
        out[(o * ho + yy) * wo + xx] = s;
      }
  return { c: cout, h: ho, w: wo, d: out };
}

function avgPool2(x: Map3): Map3 {
  const h = x.h / 2;
  const wd = x.w / 2;
  const d = new Float64Array(x.c * h * wd);
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < wd; xx++) {
        const at = (yy: number, xq: number): number => x.d[(c * x.h + yy) * x.w + xq]!;
        d[(c * h + y) * wd + xx] = (at(2 * y, 2 * xx) + at(2 * y + 1, 2 * xx) + at(2 * y, 2 * xx + 1) + at(2 * y + 1, 2 * xx + 1)) / 4;
      }
  return { c: x.c, h, w: wd, d };
}

function maxPool3(x: Map3): Map3 {
  const d = new Float64Array(x.d.length);
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < x.h; y++)
      for (let xx = 0; xx < x.w; xx++) {
        let m = -Infinity;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xq = xx + dx;
            if (yy >= 0 && xq >= 0 && yy < x.h && xq < x.w) m = Math.max(m, x.d[(c * x.h + yy) * x.w + xq]!);
          }
        d[(c * x.h + y) * x.w + xx] = m;
      }
  return { ...x, d };
}

function convBnRelu(w: Weights, prefix: string, x: Map3, cout: number, k: number): Map3 {
  const y = conv(x, w.get(`${prefix}.conv.weight`)!, undefined, cout, k, 1, (k - 1) / 2);
  const g = w.get(`${prefix}.bn.weight`)!;
  const b = w.get(`${prefix}.bn.bias`)!;
  const m = w.get(`${prefix}.bn.running_mean`)!;
  const v = w.get(`${prefix}.bn.running_var`)!;
  const hw = y.h * y.w;
  for (let c = 0; c < cout; c++)
    for (let p = 0; p < hw; p++) {
      const val = ((y.d[c * hw + p]! - m[c]!) / Math.sqrt(v[c]! + ARCH.bnEps)) * g[c]! + b[c]!;
      y.d[c * hw + p] = Math.max(0, val);
    }
  return y;
}

function concatChannels(maps: Map3[]): Map3 {
  const c = maps.reduce((s, m) => s + m.c, 0);
  const d = new Float64Array(c * maps[0]!.h * maps[0]!.w);
  let at = 0;
  for (const m of maps) {
    d.set(m.d, at);
    at += m.d.length;
  }
  return { c, h: maps[0]!.h, w: maps[0]!.w, d };
}

/** Returns the 3216 features and the redshift for one sample. */
export function referenceForward(w: Weights, norm: Normalization, image: Float32Array, magnitude: Float32Array): { features: Vec; redshift: number } {
  const { bands, imageSize, dim, tokens, heads } = ARCH;
  const hw = imageSize * imageSize;
  const img = new Float64Array(bands * hw);
  for (let b = 0; b < bands; b++)
    for (let p = 0; p < hw; p++) {
      let v = image[b * hw + p]! * norm.imageScale[b]!;
      if (norm.imageTransform === 'asinh') v = Math.asinh(v);
      img[b * hw + p] = (v - norm.imageMean[b]!) / norm.imageStd[b]!;
    }
  const input: Map3 = { c: bands, h: imageSize, w: imageSize, d: img };

  // ViT
  const pe = conv(input, w.get('vit.patch_embed.proj.weight')!, w.get('vit.patch_embed.proj.bias')!, dim, ARCH.patch, ARCH.patch, 0);
  const np = pe.h * pe.w;
  const cls = w.get('vit.cls_token')!;
  const pos = w.get('vit.pos_embed')!;
  let xs: Vec[] = [];
  for (let t = 0; t < tokens; t++) {
    const v = new Float64Array(dim);
    for (let c = 0; c < dim; c++) v[c] = (t === 0 ? cls[c]! : pe.d[c * np + (t - 1)]!) + pos[t * dim + c]!;
    xs.push(v);
  }
  const hd = dim / heads;
  for (let i = 0; i < ARCH.depth; i++) {
    const p = `vit.blocks.${i}`;
    const qkv = xs.map((x) => linear(w, `${p}.attn.qkv`, layerNorm(w, `${p}.norm1`, x), 3 * dim));
    const ctx = xs.map(() => new Float64Array(dim));
    for (let h = 0; h < heads; h++)
      for (let a = 0; a < tokens; a++) {
        const scores = new Float64Array(tokens);
        for (let b = 0; b < tokens; b++) {
          let s = 0;
          for (let e = 0; e < hd; e++) s += qkv[a]![h * hd + e]! * qkv[b]![dim + h * hd + e]!;
          scores[b] = s / Math.sqrt(hd);
        }
        const mx = Math.max(...scores);
        const ex = scores.map((s) => Math.exp(s - mx));
        const z = ex.reduce((s, v) => s + v, 0);
        for (let b = 0; b < tokens; b++) for (let e = 0; e < hd; e++) ctx[a]![h * hd + e]! += (ex[b]! / z) * qkv[b]![2 * dim + h * hd + e]!;
      }
    xs = xs.map((x, t) => {
      const y = linear(w, `${p}.attn.proj`, ctx[t]!, dim).map((v, c) => v + x[c]!);
      const hmid = linear(w, `${p}.mlp.fc1`, layerNorm(w, `${p}.norm2`, y), ARCH.mlpHidden).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      return linear(w, `${p}.mlp.fc2`, hmid, dim).map((v, c) => v + y[c]!);
    });
  }
  const pooled = new Float64Array(dim);
  for (let t = 1; t < tokens; t++) for (let c = 0; c < dim; c++) pooled[c]! += xs[t]![c]! / (tokens - 1);
  let vf = linear(w, 'vit.head', layerNorm(w, 'vit.fc_norm', pooled), dim);
  vf = linear(w, 'vit_fc.2', relu(linear(w, 'vit_fc.0', vf, ARCH.branchFeatures)), ARCH.branchFeatures);

  // Inception
  let c = avgPool2(conv(input, w.get('inception.stem.weight')!, w.get('inception.stem.bias')!, ARCH.stem, 1, 1, 0));
  INCEPTION_BLOCKS.forEach((b, j) => {
    const cv = new Map(blockConvs(b).map((x) => [x.name, x]));
    const run = (name: string, x: Map3): Map3 => convBnRelu(w, `inception.blocks.${j}.${name}`, x, cv.get(name as never)!.cout, cv.get(name as never)!.kernel);
    const branches = [run('b1', c), run('b2', run('b2_reduce', c))];
    if (b.has5x5) branches.push(run('b3', run('b3_reduce', c)));
    branches.push(run('b4', maxPool3(c)));
    c = concatChannels(branches);
    if (b.poolAfter) c = avgPool2(c);
  });
  let cf = linear(w, 'inception.fc.0', c.d, ARCH.branchFeatures);
  cf = linear(w, 'inception.fc.2', relu(cf), ARCH.branchFeatures);

  // Magnitudes
  let m: Vec = Float64Array.from(magnitude, (v, b) => (v - norm.magnitudeMean[b]!) / norm.magnitudeStd[b]!);
  m = linear(w, 'mag_mlp.0', m, ARCH.magHidden);
  for (let k = 1; k < ARCH.magLayers; k++) m = linear(w, `mag_mlp.${2 * k}`, relu(m), ARCH.magHidden);

  const features = new Float64Array(ARCH.features);
  features.set(vf, 0);
  features.set(cf, ARCH.branchFeatures);
  features.set(m, 2 * ARCH.branchFeatures);
  const hidden = relu(linear(w, 'head.0', features, ARCH.headHidden));
  const z = linear(w, 'head.2', hidden, 1)[0]!;
  return { features, redshift: z };
}
