// A small "foreign" redshift model (not AstroMAE) with every layer kind the quantizer rewrites: a strided
// Conv with bias, a Gemm with transB and alpha, MatMul + bias Add, and a final MatMul; seeded weights.
// It takes the inputs a data set holds (image [N,5,32,32], magnitude [N,5]) so static calibration and the
// inference benchmark can feed it.
import { GraphBuilder, attr } from '../../../src/model/onnx/builder.js';
import { Rng } from '../../../src/model/prng.js';

function uniform(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * scale);
}

export function smallRedshiftModel(seed = 1): Uint8Array {
  const rng = new Rng(seed);
  const g = new GraphBuilder('small');
  const image = g.input('image', ['N', 5, 32, 32]);
  const magnitude = g.input('magnitude', ['N', 5]);
  // asinh-scaled fluxes, as AstroMAE's own normalization: bright cores would otherwise set every activation scale.
  const scaled = g.node('Asinh', [g.node('Mul', [image, g.constFloat('image_scale', [20], [])], {}, 'prep/scale')], {}, 'prep/asinh');
  const conv = g.node('Conv', [scaled, g.initializer('conv.w', uniform(rng, 8 * 5 * 4 * 4, 0.2), [8, 5, 4, 4]), g.initializer('conv.b', uniform(rng, 8, 0.1), [8])], { kernel_shape: attr.ints([4, 4]), strides: attr.ints([4, 4]) }, 'features/conv');
  const flat = g.node('Flatten', [g.node('Relu', [conv], {}, 'features/relu')], { axis: attr.i(1) }, 'features/flatten');
  const gemm = g.node('Gemm', [flat, g.initializer('fc.w', uniform(rng, 16 * 512, 0.05), [16, 512]), g.initializer('fc.b', uniform(rng, 16, 0.1), [16])], { transB: attr.i(1), alpha: attr.f(0.5) }, 'features/fc');
  const centred = g.node('Sub', [magnitude, g.constFloat('mag_mean', [20], [])], {}, 'mag/centre');
  const mm = g.node('MatMul', [centred, g.initializer('mag.w', uniform(rng, 5 * 16, 0.3), [5, 16])], {}, 'mag/matmul');
  const mag = g.node('Add', [mm, g.initializer('mag.b', uniform(rng, 16, 0.1), [16])], {}, 'mag/bias');
  const both = g.node('Concat', [g.node('Relu', [gemm], {}, 'features/relu2'), g.node('Relu', [mag], {}, 'mag/relu')], { axis: attr.i(1) }, 'concat');
  const out = g.nodeN('MatMul', [both, g.initializer('head.w', uniform(rng, 32, 0.1), [32, 1])], {}, ['redshift'], 'head/matmul')[0]!;
  return g.serialize({ outputs: [{ name: out, dims: ['N', 1] }], producerName: 'small-export', producerVersion: '0.1' });
}
