import { after, before } from 'node:test';
import { RendezvousServer } from '../../../../src/fmi/channels/tcp/rendezvous/server.js';
import { connectTcpChannels, randomSecret } from '../../../../src/fmi/testing/world.js';
import { runChannelConformance } from '../conformance.js';

const secret = randomSecret();
let server: RendezvousServer;
before(async () => {
  server = await RendezvousServer.start({ secret });
});
after(async () => {
  await server.close();
});

runChannelConformance('tcp', (n) => connectTcpChannels(n, server.address, { secret }), { numRuns: 10 });
