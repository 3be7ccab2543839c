// The study's experiments, in the order they run: batch size first, since its measurement becomes the
// profile the later experiments model AWS with. Adding an experiment is one module and one line here.
import { batchSize } from './batch-size.js';
import { dataSize } from './data-size.js';
import { fmi } from './fmi.js';
import { noData } from './no-data.js';
import { partitionSize } from './partition-size.js';
import type { Experiment } from './types.js';
import { worldSize } from './world-size.js';

export const EXPERIMENTS: readonly Experiment[] = [batchSize, dataSize, partitionSize, worldSize, noData, fmi];
export type { Experiment } from './types.js';
