import type { Command } from 'commander';
import { registerFmiBench } from './fmi-bench.js';

export function register(program: Command): void {
  const fmi = program.command('fmi').description('FMI: MPI-style messaging between function instances');
  registerFmiBench(fmi);
}
