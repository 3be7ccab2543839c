// Activation ranges for static quantization, measured on a calibration set: the model is run once with
// extra outputs, each the per-sample minimum or maximum of one tensor that a quantized layer reads (the
// reductions run inside onnxruntime, so nothing larger than [N] per tensor leaves the session). The
// range of a tensor is the extreme over every sample: clipping rare samples would put the largest
// error exactly where a max-error bound is measured.
import type { Partition } from '../../data/partition.js';
import { attr } from '../onnx/builder.js';
import { encodeModel, TensorType, type ModelDef, type NodeDef, type TensorDef } from '../onnx/schema.js';
import { createSession, runOverPartition } from '../ort-run.js';
import type { ActivationRange } from './forms.js';
import { bytesOf } from './graph-edit.js';

/** The model with, per tensor, outputs `<t>.__min` and `<t>.__max` of shape [N]. */
export function withRangeOutputs(model: ModelDef, tensors: readonly string[]): { model: ModelDef; outputs: { tensor: string; min: string; max: string }[] } {
  const opset = model.opsets.find((o) => o.domain === '')?.version ?? 1;
  const nodes: NodeDef[] = [...model.graph.nodes];
  const initializers: TensorDef[] = [...model.graph.initializers];
  const outputs: { tensor: string; min: string; max: string }[] = [];
  // From opset 18 the reduction axes are an input, before that an attribute.
  const axesName = '__range_axes';
  if (opset >= 18) initializers.push({ name: axesName, dims: [1], dataType: TensorType.INT64, raw: bytesOf(BigInt64Array.of(1n)) });
  tensors.forEach((t, i) => {
    const flat = `__range_flat_${i}`;
    nodes.push({ opType: 'Flatten', domain: '', name: `__range_flatten_${i}`, inputs: [t], outputs: [flat], attributes: { axis: attr.i(1) } });
    const o = { tensor: t, min: `__range_min_${i}`, max: `__range_max_${i}` };
    for (const [op, out] of [['ReduceMin', o.min], ['ReduceMax', o.max]] as const) {
      nodes.push({
        opType: op,
        domain: '',
        name: `__range_${op}_${i}`,
        inputs: opset >= 18 ? [flat, axesName] : [flat],
        outputs: [out],
        attributes: opset >= 18 ? { keepdims: attr.i(0) } : { axes: attr.ints([1]), keepdims: attr.i(0) },
      });
    }
    outputs.push(o);
  });
  const graphOutputs = [...model.graph.outputs, ...outputs.flatMap((o) => [o.min, o.max].map((name) => ({ name, elemType: TensorType.FLOAT, dims: ['N'] })))];
  return { model: { ...model, graph: { ...model.graph, nodes, initializers, outputs: graphOutputs } }, outputs };
}

export interface RangeOptions {
  threads?: number;
  batchSize?: number;
  onBatch?: (done: number) => void;
}

/** Min and max of each tensor over every sample of `data` (a partition of the redshift contract's inputs). */
export async function measureRanges(model: ModelDef, tensors: readonly string[], data: Partition, opts: RangeOptions = {}): Promise<Map<string, ActivationRange>> {
  const aug = withRangeOutputs(model, tensors);
  const session = await createSession(encodeModel(aug.model), opts.threads);
  try {
    const names = aug.outputs.flatMap((o) => [{ name: o.min, width: 1 }, { name: o.max, width: 1 }]);
    const values = await runOverPartition(session, data, names, { batchSize: opts.batchSize, onBatch: opts.onBatch });
    const ranges = new Map<string, ActivationRange>();
    aug.outputs.forEach((o, i) => {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values[2 * i]!) if (v < min) min = v;
      for (const v of values[2 * i + 1]!) if (v > max) max = v;
      ranges.set(o.tensor, { min, max });
    });
    return ranges;
  } finally {
    await session.release();
  }
}
