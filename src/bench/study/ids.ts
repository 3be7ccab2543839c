// The study's experiment ids in run order, in a module of their own so that `cai --help` can list them
// without loading the experiments (the registry in experiments/index.ts is checked against this list).
export const EXPERIMENT_IDS = ['batch-size', 'data-size', 'partition-size', 'world-size', 'no-data', 'fmi'] as const;
export type ExperimentId = (typeof EXPERIMENT_IDS)[number];
