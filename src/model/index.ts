// The model part's public API.
export {
  buildAstroMAEOnnx,
  buildAstroMAEGraph,
  serializeAstroMAE,
  writeModel,
  checkNormalization,
  IDENTITY_NORMALIZATION,
  INPUT_IMAGE,
  INPUT_MAGNITUDE,
  OUTPUT_REDSHIFT,
  type BuildOptions,
  type Normalization,
} from './astromae.js';
export { ARCH, paramSpecs, seededWeights, checkWeights, parameterCount, type ParamSpec, type Weights } from './params.js';
export { encodeWeights, decodeWeights, readWeightsFile, NORMALIZATION_METADATA_KEY, type WeightsFile } from './weights-file.js';
export { calibrateAstroMAE, type CalibrationOptions, type CalibrationReport, type CalibratedModel } from './calibrate.js';
export { ensureBuiltinModel, ensureBuiltinInt8Model, builtinModelPath, builtinInt8ModelPath, BUILTIN_KEY, BUILTIN_INT8_KEY } from './builtin.js';
export { quantizeOnnxFile, quantizeOnnxBytes, type QuantizeBytesOptions, type QuantizeResult } from './quantize/quantize-file.js';
export { quantizeAstroMAE } from './quantize/astromae-int8.js';
export { inspectModelBytes, inspectModelFile, checkRedshiftContract, type ModelInfo, type TensorInfo } from './inspect.js';
export { analyseGraph, type GraphAnalysis } from './onnx/analysis.js';
