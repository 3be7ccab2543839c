import { createInprocWorld } from '../../../../src/fmi/channels/inproc/index.js';
import { runChannelConformance } from '../conformance.js';

runChannelConformance('inproc', async (n) => createInprocWorld(n, { communicator: 'conformance' }), { numRuns: 40 });
