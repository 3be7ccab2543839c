import type { Command } from 'commander';

/** Adds `cai data import` to the `data` group. */
export function registerImport(_data: Command): void {
  // filled in by the importers
}
