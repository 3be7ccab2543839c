// The int8 AstroMAE: which layers stay in float32, and the calibration recipe. Every choice here was
// measured on held-out synthetic galaxies against the fp32 model (docs/model.md, "int8"): the ViT's
// linear layers and its projection quantize with max |dz| under 0.001; the layers below moved the
// prediction by far more and stay in float.
import type { Partition } from '../../data/partition.js';
import { synthesize } from '../../data/synth/generator.js';
import type { NodeDef } from '../onnx/schema.js';
import { DEFAULT_CALIBRATION_SAMPLES } from './calibration-set.js';
import { quantizeOnnxBytes, type QuantizeResult } from './quantize-file.js';

/** Synthetic galaxies whose activation ranges calibrate the built-in int8 model (the fp32 model's training seed). */
export const ASTROMAE_INT8_CALIBRATION = { seed: 1000, samples: DEFAULT_CALIBRATION_SAMPLES } as const;

// Measured one group at a time on 4096 held-out galaxies (seed 1002), static form, 7-bit weights: with
// every layer below in float, max |z_int8 - z_fp32| = 0.0006; quantizing the group as well gives the figure.
const FLOAT_LAYERS: { test: (name: string, op: string) => boolean; reason: string }[] = [
  { test: (name) => name === 'head.0' || name === 'head.2', reason: 'regression head (ridge-fitted, it encodes the prediction exactly): int8 moved z by up to 0.097' },
  { test: (name) => name.startsWith('mag_mlp.'), reason: 'magnitude MLP (85% of the stacked prediction): int8 moved z by up to 0.022' },
  { test: (name) => name.startsWith('inception.fc.'), reason: 'Inception projection (a stacked branch): int8 moved z by up to 0.0046' },
  { test: (_, op) => op === 'Conv', reason: 'convolution (patch embedding, Inception): int8 moved z by up to 0.0088, and the layout reorders around QLinearConv took back its gain' },
];

/** The reason an AstroMAE layer stays in float32, or undefined when it is quantized. */
export function astromaeFloatReason(n: NodeDef): string | undefined {
  const name = n.name || n.outputs[0]!;
  return FLOAT_LAYERS.find((l) => l.test(name, n.opType))?.reason;
}

export interface AstroMAEInt8Options {
  /** Calibration samples; default synthetic galaxies (ASTROMAE_INT8_CALIBRATION). */
  calibration?: Partition;
  calibrationSource?: string;
  /** Operator form; default `static`. */
  form?: string;
  weightBits?: number;
  threads?: number;
  onProgress?: (stage: string, detail: string) => void;
  metadata?: Record<string, string>;
}

/** Quantize an fp32 AstroMAE model (the bytes `buildAstroMAEOnnx` or calibration produced). */
export async function quantizeAstroMAE(fp32: Uint8Array, opts: AstroMAEInt8Options = {}): Promise<QuantizeResult> {
  let calibration = opts.calibration;
  let source = opts.calibrationSource;
  const form = opts.form ?? 'static';
  if (!calibration && form !== 'dynamic' && form !== 'dynamic-standard') {
    opts.onProgress?.('synth', `${ASTROMAE_INT8_CALIBRATION.samples} calibration galaxies (seed ${ASTROMAE_INT8_CALIBRATION.seed})`);
    calibration = synthesize({ samples: ASTROMAE_INT8_CALIBRATION.samples, seed: ASTROMAE_INT8_CALIBRATION.seed });
    source = `synthetic galaxies, seed ${ASTROMAE_INT8_CALIBRATION.seed}, ${ASTROMAE_INT8_CALIBRATION.samples} samples`;
  }
  return quantizeOnnxBytes(fp32, '(AstroMAE)', {
    form,
    keepFloatWhen: astromaeFloatReason,
    weightBits: opts.weightBits,
    calibration,
    calibrationSource: source,
    threads: opts.threads,
    onProgress: opts.onProgress,
    metadata: opts.metadata,
  });
}
