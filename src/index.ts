// Library entry point: the pure core and the engines, for use without the CLI.
export * from './errors.js';

// Data: manifest and partition format, data sets on any storage, the synthetic generator, importers.
export * from './data/manifest.js';
export * from './data/partition.js';
export { encodeSafetensors, parseSafetensors, type ParsedSafetensors, type TensorToWrite } from './data/safetensors.js';
export {
  Dataset,
  DatasetWriter,
  openDataset,
  openLocalDataset,
  checkAgainstEntry,
  bytesPerSample,
  samplesForPartitionBytes,
  partitionPath,
  tensorSpecs,
  sha256Hex,
  describeKey,
  dataKey,
  DEFAULT_PARTITION_BYTES,
  MAX_MANIFEST_BYTES,
  PARTITIONS_DIR,
  type DatasetWriterOptions,
  type ReadPartitionOptions,
} from './data/dataset.js';
export { synthesize, synthCatalog, synthSource, synthGalaxy, synthObjectId, SYNTH_GENERATOR, SYNTH_PARAMETERS, type SynthOptions, type SynthGalaxy } from './data/synth/generator.js';
export { synthesizeDataset, type SynthDatasetOptions } from './data/synth/write-dataset.js';
export { inspectDataset, inspectPartitionBytes, formatInspection, formatBytes, ValueStats, type DatasetInspection, type PartitionInspection, type ValueSummary, type RangeSummary } from './data/inspect.js';
export { repartition, type RepartitionOptions } from './data/repartition.js';
export { VERIFY_MODES, parseVerifyMode, type VerifyMode } from './data/verify-mode.js';
export {
  readImportFile,
  inspectImportFile,
  formatImportInspection,
  openImport,
  openImportSource,
  isImportable,
  parseKeys,
  resolveMapping,
  IMPORT_EXTENSIONS,
  type ImportInspection,
  type ImportReader,
  type ImportOptions,
  type ArrayMapping,
  type KeyMap,
  type ArraySource,
  type ImportFormat,
} from './data/importers/index.js';
export { importFiles, type ImportJobOptions, type ImportReport, type ImportedFile } from './data/importers/import-job.js';

// Storage.
export type { Storage, ObjectInfo } from './storage/types.js';
export { LocalStorage } from './storage/local/local-storage.js';
export { openAtomic, writeFileAtomic, type AtomicFile, type AtomicFileOptions } from './util/atomic-file.js';

// Model: building AstroMAE as ONNX, the built-in calibrated model, inspection.
export * from './model/index.js';
export { readModelBytes, MAX_MODEL_BYTES } from './model/model-file.js';

// Metrics: accuracy of predictions and the order statistics behind it (pure).
export * from './metrics/accuracy.js';
export { median, sortedMedian, sortedQuantile } from './metrics/statistics.js';

// Runtime: the execution devices a model runs on (the onnxruntime binding itself stays internal).
export { DEVICES, DEVICE_NAMES, DEVICE_CHOICES, executionDevice, devicesToTry, parseDeviceChoice, type ExecutionDevice, type DeviceChoice, type Device } from './runtime/devices.js';

// Inference: the engine, performance metrics, predictions files, and a whole job on this machine.
export { InferenceEngine, inferPartitions, MAX_BATCH_SIZE, type EngineOptions, type InferArgs, type InferenceResult, type PartitionSource, type PartitionTiming, type Prediction, type PredictOptions } from './inference/engine.js';
export { openSession, checkModelIo, DEFAULT_IO, type ModelIo, type SessionOptions, type OpenedSession } from './inference/session.js';
export { checkInferOptions, parseInputNames, type InferOptionValues, type CheckedInferOptions } from './inference/options.js';
export { performanceMetrics, caiFields, type PerformanceInput, type PerformanceMetrics } from './inference/metrics.js';
export { peakRssBytes } from './util/peak-memory.js';
export * from './inference/predictions.js';
export { runInferJob, PREDICTIONS_FILE, METRICS_FILE, type InferJobOptions, type InferReport } from './inference/infer-job.js';

// Cost model and reports.
export * from './cost/index.js';
export * from './report/index.js';
