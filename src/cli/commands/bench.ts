import type { Command } from 'commander';
import { registerWorkflowBench } from './bench-workflow.js';

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks that print figures and ratios against a baseline measured in the same run');
  registerWorkflowBench(bench);
}
