// AstroMAE as an ONNX graph: a ViT encoder and an Inception CNN over the 5-band image, an MLP over the
// magnitudes, and a regression head over the concatenated features. Input normalization is part of the graph,
// so the model takes exactly what partitions store (raw fluxes, raw magnitudes).
import { writeFileAtomic } from '../util/atomic-file.js';
import { GraphBuilder, attr } from './onnx/builder.js';
import { ARCH, INCEPTION_BLOCKS, blockConvs, checkWeights, seededWeights, type Weights } from './params.js';

export const INPUT_IMAGE = 'image';
export const INPUT_MAGNITUDE = 'magnitude';
export const OUTPUT_REDSHIFT = 'redshift';
export const BATCH_DIM = 'N';
export const PRODUCER = 'cai-astromae';
export const PRODUCER_VERSION = '1';

/**
 * Input scaling applied inside the graph:
 *   image'     = (T(image * imageScale[b]) - imageMean[b]) / imageStd[b]   per band b, T = asinh or identity
 *   magnitude' = (magnitude - magnitudeMean[b]) / magnitudeStd[b]
 */
export interface Normalization {
  imageTransform: 'identity' | 'asinh';
  imageScale: number[];
  imageMean: number[];
  imageStd: number[];
  magnitudeMean: number[];
  magnitudeStd: number[];
}

export const IDENTITY_NORMALIZATION: Normalization = {
  imageTransform: 'identity',
  imageScale: [1, 1, 1, 1, 1],
  imageMean: [0, 0, 0, 0, 0],
  imageStd: [1, 1, 1, 1, 1],
  magnitudeMean: [0, 0, 0, 0, 0],
  magnitudeStd: [1, 1, 1, 1, 1],
};

export function checkNormalization(n: Normalization, what: string): void {
  const fields = ['imageScale', 'imageMean', 'imageStd', 'magnitudeMean', 'magnitudeStd'] as const;
  if (n.imageTransform !== 'identity' && n.imageTransform !== 'asinh') throw new Error(`${what}: imageTransform must be "identity" or "asinh"`);
  for (const f of fields) {
    const v = n[f];
    if (!Array.isArray(v) || v.length !== ARCH.bands || v.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
      throw new Error(`${what}: ${f} must be ${ARCH.bands} finite numbers`);
  }
  for (const f of ['imageScale', 'imageStd', 'magnitudeStd'] as const) if (n[f].some((x) => x === 0)) throw new Error(`${what}: ${f} must not contain 0`);
}

/** Names of tensors inside the built graph that calibration probes. */
export interface AstroMAETensors {
  image: string;
  magnitude: string;
  redshift: string;
  /** The [N,3216] concatenation the head reads. */
  features: string;
  /** Per inception conv (`inception.blocks.{j}.{branch}`), its BatchNorm-folded output before ReLU. */
  convOutputs: Map<string, string>;
  /** Per inception conv, the names of its folded weight and bias initializers (see GraphBuilder.setInitializer). */
  convParams: Map<string, { weight: string; bias: string }>;
}

/** BatchNorm folded into the preceding bias-free convolution: w' = w*s, b' = beta - mean*s, s = gamma/sqrt(var+eps). */
export function foldBatchNorm(w: Weights, prefix: string): { weight: Float32Array; bias: Float32Array } {
  const conv = w.get(`${prefix}.conv.weight`)!;
  const gamma = w.get(`${prefix}.bn.weight`)!;
  const beta = w.get(`${prefix}.bn.bias`)!;
  const mean = w.get(`${prefix}.bn.running_mean`)!;
  const variance = w.get(`${prefix}.bn.running_var`)!;
  const cout = gamma.length;
  const per = conv.length / cout;
  const weight = new Float32Array(conv.length);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const s = gamma[o]! / Math.sqrt(variance[o]! + ARCH.bnEps);
    for (let k = 0; k < per; k++) weight[o * per + k] = conv[o * per + k]! * s;
    bias[o] = beta[o]! - mean[o]! * s;
  }
  return { weight, bias };
}

/** [out,in] -> [in,out], for MatMul on token tensors. */
function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

function isIdentity(values: number[], v: number): boolean {
  return values.every((x) => x === v);
}

/** Build the full AstroMAE graph in memory (nothing is serialized yet). */
export function buildAstroMAEGraph(w: Weights, norm: Normalization): { graph: GraphBuilder; tensors: AstroMAETensors } {
  const g = new GraphBuilder('astromae');
  const { bands, imageSize, dim, tokens, heads } = ARCH;
  const headDim = dim / heads;
  const P = (name: string): Float32Array => {
    const t = w.get(name);
    if (!t) throw new Error(`weight ${name} missing`);
    return t;
  };
  const gemm = (x: string, prefix: string, out: number, inp: number): string =>
    g.node('Gemm', [x, g.initializer(`${prefix}.weight`, P(`${prefix}.weight`), [out, inp]), g.initializer(`${prefix}.bias`, P(`${prefix}.bias`), [out])], { transB: attr.i(1) }, prefix);
  const matmulBias = (x: string, prefix: string, out: number, inp: number): string => {
    const wt = g.initializer(`${prefix}.weight_t`, transpose2d(P(`${prefix}.weight`), out, inp), [inp, out]);
    return g.node('Add', [g.node('MatMul', [x, wt], {}, `${prefix}.matmul`), g.initializer(`${prefix}.bias`, P(`${prefix}.bias`), [out])], {}, `${prefix}.add`);
  };
  const layerNorm = (x: string, prefix: string, eps: number): string =>
    g.node('LayerNormalization', [x, g.initializer(`${prefix}.weight`, P(`${prefix}.weight`), [dim]), g.initializer(`${prefix}.bias`, P(`${prefix}.bias`), [dim])], { axis: attr.i(-1), epsilon: attr.f(eps) }, prefix);

  const image = g.input(INPUT_IMAGE, [BATCH_DIM, bands, imageSize, imageSize]);
  const magnitude = g.input(INPUT_MAGNITUDE, [BATCH_DIM, bands]);

  // ---- input normalization
  let x = image;
  if (norm.imageTransform === 'asinh' || !isIdentity(norm.imageScale, 1)) x = g.node('Mul', [x, g.constFloat('norm.image_scale', norm.imageScale, [1, bands, 1, 1])], {}, 'norm.image_scale');
  if (norm.imageTransform === 'asinh') x = g.node('Asinh', [x], {}, 'norm.image_asinh');
  if (!isIdentity(norm.imageMean, 0)) x = g.node('Sub', [x, g.constFloat('norm.image_mean', norm.imageMean, [1, bands, 1, 1])], {}, 'norm.image_sub');
  if (!isIdentity(norm.imageStd, 1)) x = g.node('Div', [x, g.constFloat('norm.image_std', norm.imageStd, [1, bands, 1, 1])], {}, 'norm.image_div');
  const img = x;
  let m = magnitude;
  if (!isIdentity(norm.magnitudeMean, 0)) m = g.node('Sub', [m, g.constFloat('norm.magnitude_mean', norm.magnitudeMean, [1, bands])], {}, 'norm.magnitude_sub');
  if (!isIdentity(norm.magnitudeStd, 1)) m = g.node('Div', [m, g.constFloat('norm.magnitude_std', norm.magnitudeStd, [1, bands])], {}, 'norm.magnitude_div');

  // ---- ViT encoder
  const pe = g.node(
    'Conv',
    [img, g.initializer('vit.patch_embed.proj.weight', P('vit.patch_embed.proj.weight'), [dim, bands, ARCH.patch, ARCH.patch]), g.initializer('vit.patch_embed.proj.bias', P('vit.patch_embed.proj.bias'), [dim])],
    { kernel_shape: attr.ints([ARCH.patch, ARCH.patch]), strides: attr.ints([ARCH.patch, ARCH.patch]) },
    'vit.patch_embed',
  );
  const patches = g.node('Transpose', [g.node('Reshape', [pe, g.constInt64('shape.patches', [0, dim, tokens - 1])], {}, 'vit.patch_flatten')], { perm: attr.ints([0, 2, 1]) }, 'vit.patch_tokens');
  // The CLS token broadcast to the batch: Expand to [N,1,dim], N read from the data.
  const n = g.node('Shape', [patches], { start: attr.i(0), end: attr.i(1) }, 'batch_size');
  const clsShape = g.node('Concat', [n, g.constInt64('shape.cls_tail', [1, dim])], { axis: attr.i(0) }, 'vit.cls_shape');
  const cls = g.node('Expand', [g.initializer('vit.cls_token', P('vit.cls_token'), [1, 1, dim]), clsShape], {}, 'vit.cls_expand');
  x = g.node('Concat', [cls, patches], { axis: attr.i(1) }, 'vit.tokens');
  x = g.node('Add', [x, g.initializer('vit.pos_embed', P('vit.pos_embed'), [1, tokens, dim])], {}, 'vit.pos_add');
  const headShape = g.constInt64('shape.heads', [0, tokens, heads, headDim]);
  const mergeShape = g.constInt64('shape.merge', [0, tokens, dim]);
  const splitSizes = g.constInt64('split.qkv', [dim, dim, dim]);
  const scale = g.constFloat('attn.scale', [Math.sqrt(headDim)], []);
  const sqrt2 = g.constFloat('gelu.sqrt2', [Math.SQRT2], []);
  const one = g.constFloat('gelu.one', [1], []);
  const half = g.constFloat('gelu.half', [0.5], []);
  for (let i = 0; i < ARCH.depth; i++) {
    const p = `vit.blocks.${i}`;
    let h = layerNorm(x, `${p}.norm1`, ARCH.lnEps);
    const qkv = matmulBias(h, `${p}.attn.qkv`, 3 * dim, dim);
    const [q0, k0, v0] = g.nodeN('Split', [qkv, splitSizes], { axis: attr.i(-1) }, 3, `${p}.attn.split`) as [string, string, string];
    const q = g.node('Transpose', [g.node('Reshape', [q0, headShape], {}, `${p}.attn.q_heads`)], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.attn.q`);
    const k = g.node('Transpose', [g.node('Reshape', [k0, headShape], {}, `${p}.attn.k_heads`)], { perm: attr.ints([0, 2, 3, 1]) }, `${p}.attn.k`);
    const v = g.node('Transpose', [g.node('Reshape', [v0, headShape], {}, `${p}.attn.v_heads`)], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.attn.v`);
    const scores = g.node('Div', [g.node('MatMul', [q, k], {}, `${p}.attn.qk`), scale], {}, `${p}.attn.scale`);
    const probs = g.node('Softmax', [scores], { axis: attr.i(-1) }, `${p}.attn.softmax`);
    const ctx = g.node('Transpose', [g.node('MatMul', [probs, v], {}, `${p}.attn.av`)], { perm: attr.ints([0, 2, 1, 3]) }, `${p}.attn.ctx`);
    const merged = g.node('Reshape', [ctx, mergeShape], {}, `${p}.attn.merge`);
    x = g.node('Add', [x, matmulBias(merged, `${p}.attn.proj`, dim, dim)], {}, `${p}.residual1`);
    h = layerNorm(x, `${p}.norm2`, ARCH.lnEps);
    h = matmulBias(h, `${p}.mlp.fc1`, ARCH.mlpHidden, dim);
    // Exact GELU written in the form onnxruntime fuses: x * 0.5 * (1 + erf(x / sqrt 2)).
    const erf = g.node('Erf', [g.node('Div', [h, sqrt2], {}, `${p}.mlp.gelu_div`)], {}, `${p}.mlp.gelu_erf`);
    h = g.node('Mul', [g.node('Mul', [h, g.node('Add', [erf, one], {}, `${p}.mlp.gelu_add`)], {}, `${p}.mlp.gelu_mul`), half], {}, `${p}.mlp.gelu`);
    h = matmulBias(h, `${p}.mlp.fc2`, dim, ARCH.mlpHidden);
    x = g.node('Add', [x, h], {}, `${p}.residual2`);
  }
  const patchTokens = g.node('Slice', [x, g.constInt64('slice.start', [1]), g.constInt64('slice.end', [tokens]), g.constInt64('slice.axes', [1])], {}, 'vit.patch_only');
  let vf = g.node('ReduceMean', [patchTokens], { axes: attr.ints([1]), keepdims: attr.i(0) }, 'vit.pool');
  vf = layerNorm(vf, 'vit.fc_norm', ARCH.lnEps);
  vf = gemm(vf, 'vit.head', dim, dim);
  vf = g.node('Relu', [gemm(vf, 'vit_fc.0', ARCH.branchFeatures, dim)], {}, 'vit_fc.relu');
  vf = gemm(vf, 'vit_fc.2', ARCH.branchFeatures, ARCH.branchFeatures);

  // ---- Inception branch
  const convOutputs = new Map<string, string>();
  const convParams = new Map<string, { weight: string; bias: string }>();
  const avgPool = (t: string, hint: string): string => g.node('AveragePool', [t], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, hint);
  let c = g.node(
    'Conv',
    [img, g.initializer('inception.stem.weight', P('inception.stem.weight'), [ARCH.stem, bands, 1, 1]), g.initializer('inception.stem.bias', P('inception.stem.bias'), [ARCH.stem])],
    { kernel_shape: attr.ints([1, 1]) },
    'inception.stem',
  );
  c = avgPool(c, 'inception.stem_pool');
  INCEPTION_BLOCKS.forEach((b, j) => {
    const convs = new Map(blockConvs(b).map((cv) => [cv.name, cv]));
    const convBnRelu = (input: string, name: string): string => {
      const cv = convs.get(name as never)!;
      const prefix = `inception.blocks.${j}.${name}`;
      const f = foldBatchNorm(w, prefix);
      const pad = (cv.kernel - 1) / 2;
      const weight = g.initializer(`${prefix}.weight`, f.weight, [cv.cout, cv.cin, cv.kernel, cv.kernel]);
      const bias = g.initializer(`${prefix}.bias`, f.bias, [cv.cout]);
      const y = g.node('Conv', [input, weight, bias], { kernel_shape: attr.ints([cv.kernel, cv.kernel]), pads: attr.ints([pad, pad, pad, pad]) }, prefix);
      convOutputs.set(prefix, y);
      convParams.set(prefix, { weight, bias });
      return g.node('Relu', [y], {}, `${prefix}.relu`);
    };
    const branches = [convBnRelu(c, 'b1'), convBnRelu(convBnRelu(c, 'b2_reduce'), 'b2')];
    if (b.has5x5) branches.push(convBnRelu(convBnRelu(c, 'b3_reduce'), 'b3'));
    const pooled = g.node('MaxPool', [c], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([1, 1]), pads: attr.ints([1, 1, 1, 1]) }, `inception.blocks.${j}.b4_pool`);
    branches.push(convBnRelu(pooled, 'b4'));
    c = g.node('Concat', branches, { axis: attr.i(1) }, `inception.blocks.${j}.concat`);
    if (b.poolAfter) c = avgPool(c, `inception.blocks.${j}.pool`);
  });
  const last = INCEPTION_BLOCKS[INCEPTION_BLOCKS.length - 1]!;
  const flat = (last.has5x5 ? 4 : 3) * last.width * 16;
  let cf = g.node('Flatten', [c], { axis: attr.i(1) }, 'inception.flatten');
  cf = g.node('Relu', [gemm(cf, 'inception.fc.0', ARCH.branchFeatures, flat)], {}, 'inception.fc.relu');
  cf = gemm(cf, 'inception.fc.2', ARCH.branchFeatures, ARCH.branchFeatures);

  // ---- magnitude MLP
  let mf = gemm(m, 'mag_mlp.0', ARCH.magHidden, bands);
  for (let k = 1; k < ARCH.magLayers; k++) mf = gemm(g.node('Relu', [mf], {}, `mag_mlp.${2 * k - 1}`), `mag_mlp.${2 * k}`, ARCH.magHidden, ARCH.magHidden);

  // ---- head
  const features = g.node('Concat', [vf, cf, mf], { axis: attr.i(1) }, 'features');
  const hidden = g.node('Relu', [gemm(features, 'head.0', ARCH.headHidden, ARCH.features)], {}, 'head.1');
  const out = g.nodeN('Gemm', [hidden, g.initializer('head.2.weight', P('head.2.weight'), [1, ARCH.headHidden]), g.initializer('head.2.bias', P('head.2.bias'), [1])], { transB: attr.i(1) }, [OUTPUT_REDSHIFT], 'head.2')[0]!;
  return { graph: g, tensors: { image, magnitude, redshift: out, features, convOutputs, convParams } };
}

export interface BuildOptions {
  /** Seed of the default initialization (used when `weights` is absent). Default 0. */
  seed?: number;
  /** A complete weight map in state_dict naming (see docs/model.md). */
  weights?: Weights;
  /** Input scaling baked into the graph. Default: identity. */
  normalization?: Normalization;
  /** Extra ONNX metadata_props. */
  metadata?: Record<string, string>;
}

/** Serialize a built graph as the `redshift` model with its standard metadata. */
export function serializeAstroMAE(graph: GraphBuilder, norm: Normalization, metadata: Record<string, string> = {}): Uint8Array {
  return graph.serialize({
    outputs: [{ name: OUTPUT_REDSHIFT, dims: [BATCH_DIM, 1] }],
    producerName: PRODUCER,
    producerVersion: PRODUCER_VERSION,
    docString: 'AstroMAE photometric redshift model: ViT + Inception over 5x32x32 images, MLP over 5 magnitudes.',
    metadata: {
      producer: `${PRODUCER} ${PRODUCER_VERSION}`,
      inputs: JSON.stringify([
        { name: INPUT_IMAGE, dtype: 'float32', shape: [BATCH_DIM, ARCH.bands, ARCH.imageSize, ARCH.imageSize] },
        { name: INPUT_MAGNITUDE, dtype: 'float32', shape: [BATCH_DIM, ARCH.bands] },
      ]),
      outputs: JSON.stringify([{ name: OUTPUT_REDSHIFT, dtype: 'float32', shape: [BATCH_DIM, 1] }]),
      normalization: JSON.stringify(norm),
      ...metadata,
    },
  });
}

/** Build the AstroMAE ONNX model (opset 17, IR 8) from seeded or given weights. */
export function buildAstroMAEOnnx(opts: BuildOptions = {}): Uint8Array {
  const seed = opts.seed ?? 0;
  const weights = opts.weights ?? seededWeights(seed);
  if (opts.weights) checkWeights(opts.weights, '(weights)');
  const norm = opts.normalization ?? IDENTITY_NORMALIZATION;
  checkNormalization(norm, 'normalization');
  const { graph } = buildAstroMAEGraph(weights, norm);
  const meta: Record<string, string> = { weights: opts.weights ? 'given' : `seeded`, ...opts.metadata };
  if (!opts.weights) meta.seed = String(seed);
  return serializeAstroMAE(graph, norm, meta);
}

/** Write a model file atomically (temp file in the same directory, then rename), creating its directory. */
export async function writeModel(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(path, bytes, { mkdir: true });
}
