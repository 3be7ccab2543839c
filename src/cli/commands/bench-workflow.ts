import type { Command } from 'commander';

/** Adds the workflow benchmarks to the `bench` group. */
export function registerWorkflowBench(_bench: Command): void {}
