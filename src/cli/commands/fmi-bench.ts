import type { Command } from 'commander';

/** Adds `cai fmi bench` to the `fmi` group. */
export function registerFmiBench(_fmi: Command): void {}
