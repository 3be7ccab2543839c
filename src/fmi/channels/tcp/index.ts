// The direct TCP channel as a backend: ranks meet at a rendezvous server (given, or started in this
// process on loopback for the run) and then talk over authenticated connections of their own.
import { z } from 'zod';
import type { ChannelConfig } from '../../channel.js';
import type { PolicyConfig } from '../../policy/config.js';
import { UsageError } from '../../../errors.js';
import { keepAllOrNone, parseEndpointWith, type ChannelBackend, type OpenOptions, type RunServices, type ServiceRequest } from '../backend.js';
import { TcpChannel } from './channel.js';
import { formatHostPort, parseHostPort } from './rendezvous/protocol.js';
import { RendezvousServer } from './rendezvous/server.js';

export { TcpChannel, channelConfig } from './channel.js';
export type { TcpChannelOptions } from './channel.js';
export { RendezvousServer } from './rendezvous/server.js';
export type { RendezvousServerOptions, RendezvousEvent } from './rendezvous/server.js';
export { rendezvous } from './rendezvous/client.js';
export { parseHostPort, formatHostPort } from './rendezvous/protocol.js';
export type { PeerAddress } from './rendezvous/protocol.js';

export interface TcpEndpoint {
  /** The rendezvous server as host:port. */
  rendezvous: string;
}

const endpointSchema = z.object({ rendezvous: z.string().min(1).max(300) }).strict();
const settingsSchema = endpointSchema.partial();

function checked(e: TcpEndpoint, where: string): TcpEndpoint {
  parseHostPort(e.rendezvous, `${where}: rendezvous`);
  return e;
}

export const backend: ChannelBackend<TcpEndpoint> = {
  kind: 'tcp',

  parseEndpoint(value: unknown, where: string): TcpEndpoint {
    return checked(parseEndpointWith(endpointSchema, value, where), where);
  },

  configuredEndpoint(policy: PolicyConfig): TcpEndpoint {
    const rendezvous = policy.channels.tcp.endpoints[0];
    if (!rendezvous) throw new UsageError('channel configuration: channels.tcp.endpoints needs the rendezvous server as host:port');
    parseHostPort(rendezvous, 'channels.tcp.endpoints[0]');
    return { rendezvous };
  },

  async open(configs: readonly ChannelConfig[], endpoint: TcpEndpoint, options: OpenOptions): Promise<TcpChannel[]> {
    const rendezvous = parseHostPort(endpoint.rendezvous, 'tcp endpoint: rendezvous');
    const settled = await Promise.allSettled(configs.map((config) => TcpChannel.connect(config, { rendezvous, deadline: options.deadline, onRegistered: () => options.onJoined?.(config.rank), signal: options.signal })));
    return keepAllOrNone(settled, options.signal);
  },

  async startServices(request: ServiceRequest): Promise<RunServices<TcpEndpoint>> {
    const given = parseEndpointWith(settingsSchema, request.settings ?? {}, 'tcp channel settings');
    const base = { removeRun: async () => {} };
    // Nothing of a TCP run outlives its connections, so there is nothing to remove afterwards.
    if (given.rendezvous) return { ...base, endpoint: checked({ rendezvous: given.rendezvous }, 'tcp channel settings'), describe: `rendezvous server at ${given.rendezvous}`, stop: async () => {} };
    const server = await RendezvousServer.start({ secret: request.secret, host: '127.0.0.1', port: 0 });
    const rendezvous = formatHostPort(server.address);
    return { ...base, endpoint: { rendezvous }, describe: `rendezvous server on ${rendezvous}`, stop: () => server.close() };
  },
};
