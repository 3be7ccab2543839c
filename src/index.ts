// Library entry point: the pure core and the engines, for use without the CLI.
export * from './errors.js';
export * from './data/manifest.js';
export * from './data/partition.js';
export type { Storage, ObjectInfo } from './storage/types.js';
