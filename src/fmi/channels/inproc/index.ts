// The in-process channel as a backend: every rank of a world lives in the process that opens it, in one
// call (ranks left out of that call never join). Nothing to start, nothing left behind.
import type { ChannelConfig } from '../../channel.js';
import { UsageError } from '../../../errors.js';
import type { ChannelBackend, OpenOptions, RunServices } from '../backend.js';
import { joinInprocWorld } from './channel.js';

export { createInprocWorld, joinInprocWorld } from './channel.js';
export type { InprocWorldOptions } from './channel.js';

/** In-process worlds need no address. */
export type InprocEndpoint = Record<string, never>;

export const backend: ChannelBackend<InprocEndpoint> = {
  kind: 'inproc',

  parseEndpoint(value: unknown, where: string): InprocEndpoint {
    if (typeof value !== 'object' || value === null || Object.keys(value).length > 0) throw new UsageError(`${where}: the inproc channel takes an empty endpoint {}`);
    return {};
  },

  configuredEndpoint(): InprocEndpoint {
    throw new UsageError('the inproc channel has no section in the channel configuration: it connects ranks of one process only');
  },

  async open(configs: readonly ChannelConfig[], _endpoint: InprocEndpoint, options?: OpenOptions) {
    if (configs.length === 0) return [];
    const { communicator, runId, worldSize, maxFrameBytes } = configs[0]!;
    if (configs.some((c) => c.communicator !== communicator || c.runId !== runId || c.worldSize !== worldSize)) throw new UsageError('inproc channel: every rank opened together must be of one communicator, run and world size');
    const channels = joinInprocWorld(worldSize, configs.map((c) => c.rank), { communicator, maxFrameBytes });
    for (const c of channels) options?.onJoined?.(c.rank);
    return channels;
  },

  async startServices(): Promise<RunServices<InprocEndpoint>> {
    return { endpoint: {}, describe: 'in-process', removeRun: async () => {}, stop: async () => {} };
  },
};
