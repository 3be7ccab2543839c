// AstroMAE's parameters in PyTorch state_dict naming: the names, shapes and default initializations.
// A state_dict of a PyTorch AstroMAE with these module names converts to our weights one to one.
import { ModelError } from '../errors.js';
import { Rng, streamKey } from './prng.js';

export const ARCH = {
  bands: 5,
  imageSize: 32,
  patch: 8,
  /** 4x4 patches plus the CLS token. */
  tokens: 17,
  dim: 192,
  depth: 12,
  heads: 3,
  mlpHidden: 768,
  lnEps: 1e-6,
  bnEps: 1e-5,
  branchFeatures: 1096,
  magHidden: 1024,
  magLayers: 5,
  headHidden: 1024,
  /** vit 1096 + inception 1096 + magnitude 1024. */
  features: 3216,
  stem: 32,
} as const;

export interface InceptionBlockSpec {
  in: number;
  width: number;
  /** Whether the 1x1 -> 5x5 branch exists (the last block has three branches). */
  has5x5: boolean;
  /** Average-pool by 2 after the block. */
  poolAfter: boolean;
}

export const INCEPTION_BLOCKS: readonly InceptionBlockSpec[] = [
  { in: 32, width: 16, has5x5: true, poolAfter: false },
  { in: 64, width: 16, has5x5: true, poolAfter: true },
  { in: 64, width: 8, has5x5: true, poolAfter: false },
  { in: 32, width: 8, has5x5: true, poolAfter: true },
  { in: 32, width: 4, has5x5: false, poolAfter: false },
];

/** The convolutions of one inception block: name within the block, kernel, in/out channels, and what feeds it. */
export interface BranchConv {
  name: 'b1' | 'b2_reduce' | 'b2' | 'b3_reduce' | 'b3' | 'b4';
  kernel: number;
  cin: number;
  cout: number;
}

export function blockConvs(b: InceptionBlockSpec): BranchConv[] {
  const w = b.width;
  const convs: BranchConv[] = [
    { name: 'b1', kernel: 1, cin: b.in, cout: w },
    { name: 'b2_reduce', kernel: 1, cin: b.in, cout: w },
    { name: 'b2', kernel: 3, cin: w, cout: w },
  ];
  if (b.has5x5) convs.push({ name: 'b3_reduce', kernel: 1, cin: b.in, cout: w }, { name: 'b3', kernel: 5, cin: w, cout: w });
  convs.push({ name: 'b4', kernel: 1, cin: b.in, cout: w });
  return convs;
}

export type Init = { kind: 'uniform'; bound: number } | { kind: 'normal'; std: number } | { kind: 'const'; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
}

export type Weights = Map<string, Float32Array>;

function linear(prefix: string, out: number, inp: number, specs: ParamSpec[]): void {
  const bound = 1 / Math.sqrt(inp);
  specs.push({ name: `${prefix}.weight`, shape: [out, inp], init: { kind: 'uniform', bound } });
  specs.push({ name: `${prefix}.bias`, shape: [out], init: { kind: 'uniform', bound } });
}

function layerNorm(prefix: string, dim: number, specs: ParamSpec[]): void {
  specs.push({ name: `${prefix}.weight`, shape: [dim], init: { kind: 'const', value: 1 } });
  specs.push({ name: `${prefix}.bias`, shape: [dim], init: { kind: 'const', value: 0 } });
}

function batchNorm(prefix: string, ch: number, specs: ParamSpec[]): void {
  specs.push({ name: `${prefix}.weight`, shape: [ch], init: { kind: 'const', value: 1 } });
  specs.push({ name: `${prefix}.bias`, shape: [ch], init: { kind: 'const', value: 0 } });
  specs.push({ name: `${prefix}.running_mean`, shape: [ch], init: { kind: 'const', value: 0 } });
  specs.push({ name: `${prefix}.running_var`, shape: [ch], init: { kind: 'const', value: 1 } });
}

let cachedSpecs: ParamSpec[] | undefined;

/** Every tensor of the model, in a stable order. */
export function paramSpecs(): readonly ParamSpec[] {
  if (cachedSpecs) return cachedSpecs;
  const s: ParamSpec[] = [];
  const { dim, bands, patch } = ARCH;
  const peFan = bands * patch * patch;
  s.push({ name: 'vit.cls_token', shape: [1, 1, dim], init: { kind: 'normal', std: 0.02 } });
  s.push({ name: 'vit.pos_embed', shape: [1, ARCH.tokens, dim], init: { kind: 'normal', std: 0.02 } });
  s.push({ name: 'vit.patch_embed.proj.weight', shape: [dim, bands, patch, patch], init: { kind: 'uniform', bound: 1 / Math.sqrt(peFan) } });
  s.push({ name: 'vit.patch_embed.proj.bias', shape: [dim], init: { kind: 'uniform', bound: 1 / Math.sqrt(peFan) } });
  for (let i = 0; i < ARCH.depth; i++) {
    const p = `vit.blocks.${i}`;
    layerNorm(`${p}.norm1`, dim, s);
    linear(`${p}.attn.qkv`, 3 * dim, dim, s);
    linear(`${p}.attn.proj`, dim, dim, s);
    layerNorm(`${p}.norm2`, dim, s);
    linear(`${p}.mlp.fc1`, ARCH.mlpHidden, dim, s);
    linear(`${p}.mlp.fc2`, dim, ARCH.mlpHidden, s);
  }
  layerNorm('vit.fc_norm', dim, s);
  linear('vit.head', dim, dim, s);
  linear('vit_fc.0', ARCH.branchFeatures, dim, s);
  linear('vit_fc.2', ARCH.branchFeatures, ARCH.branchFeatures, s);

  s.push({ name: 'inception.stem.weight', shape: [ARCH.stem, bands, 1, 1], init: { kind: 'uniform', bound: 1 / Math.sqrt(bands) } });
  s.push({ name: 'inception.stem.bias', shape: [ARCH.stem], init: { kind: 'uniform', bound: 1 / Math.sqrt(bands) } });
  INCEPTION_BLOCKS.forEach((b, j) => {
    for (const c of blockConvs(b)) {
      const p = `inception.blocks.${j}.${c.name}`;
      s.push({ name: `${p}.conv.weight`, shape: [c.cout, c.cin, c.kernel, c.kernel], init: { kind: 'uniform', bound: 1 / Math.sqrt(c.cin * c.kernel * c.kernel) } });
      batchNorm(`${p}.bn`, c.cout, s);
    }
  });
  const last = INCEPTION_BLOCKS[INCEPTION_BLOCKS.length - 1]!;
  const flat = (last.has5x5 ? 4 : 3) * last.width * 4 * 4;
  linear('inception.fc.0', ARCH.branchFeatures, flat, s);
  linear('inception.fc.2', ARCH.branchFeatures, ARCH.branchFeatures, s);

  for (let k = 0; k < ARCH.magLayers; k++) linear(`mag_mlp.${2 * k}`, ARCH.magHidden, k === 0 ? bands : ARCH.magHidden, s);
  linear('head.0', ARCH.headHidden, ARCH.features, s);
  linear('head.2', 1, ARCH.headHidden, s);
  cachedSpecs = s;
  return s;
}

export function specByName(): Map<string, ParamSpec> {
  return new Map(paramSpecs().map((p) => [p.name, p]));
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Deterministic PyTorch-like initialization: nn.Linear/nn.Conv2d defaults, LayerNorm/BatchNorm identities, N(0, 0.02) embeddings. */
export function seededWeights(seed: number): Weights {
  const w: Weights = new Map();
  for (const p of paramSpecs()) w.set(p.name, initTensor(p, seed));
  return w;
}

export function initTensor(p: ParamSpec, seed: number): Float32Array {
  const a = new Float32Array(elementCount(p.shape));
  const init = p.init;
  if (init.kind === 'const') return a.fill(init.value);
  const rng = new Rng(streamKey(seed, p.name));
  if (init.kind === 'uniform') for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * init.bound;
  else for (let i = 0; i < a.length; i++) a[i] = rng.normal() * init.std;
  return a;
}

/** Names PyTorch writes into a state_dict that carry no weights (BatchNorm's step counter). */
export function isIgnorableName(name: string): boolean {
  return name.endsWith('.num_batches_tracked');
}

/** Check a weight map against the specification: every tensor present, no extra ones, right sizes. */
export function checkWeights(weights: Weights, file: string): void {
  const specs = specByName();
  for (const p of specs.values()) {
    const t = weights.get(p.name);
    if (!t) throw new ModelError(file, `missing tensor "${p.name}" (shape [${p.shape.join(',')}])`);
    if (t.length !== elementCount(p.shape)) throw new ModelError(file, `tensor "${p.name}" has ${t.length} values, expected shape [${p.shape.join(',')}]`);
  }
  for (const name of weights.keys()) if (!specs.has(name) && !isIgnorableName(name)) throw new ModelError(file, `unexpected tensor "${name}" (not part of AstroMAE)`);
}

export function parameterCount(): number {
  return paramSpecs().reduce((s, p) => s + elementCount(p.shape), 0);
}
