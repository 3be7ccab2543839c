import { createInprocWorld, joinInprocWorld } from '../../../../src/fmi/channels/inproc/index.js';
import { runChannelConformance } from '../conformance.js';

runChannelConformance('inproc', async (n) => createInprocWorld(n, { communicator: 'conformance' }), {
  numRuns: 40,
  makeWorldWithout: async (n, absent) => joinInprocWorld(n, Array.from({ length: n }, (_, r) => r).filter((r) => !absent.includes(r)), { communicator: 'conformance' }),
});
