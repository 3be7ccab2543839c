import type { Command } from 'commander';
import { registerImport } from './data-import.js';

export function register(program: Command): void {
  const data = program.command('data').description('synthesize, import, inspect and repartition data sets');
  registerImport(data);
}
