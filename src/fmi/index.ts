// FMI: MPI-style point-to-point and collective operations between function instances, over pluggable
// channels (in-process, direct TCP, and others built on the same Channel interface).
export type { Absence, Channel, ChannelConfig } from './channel.js';
export { DEFAULT_MAX_FRAME_BYTES, MAX_WORLD_SIZE } from './channel.js';
export { channelBackend, CHANNEL_KINDS, NETWORK_CHANNEL_KINDS, isChannelKind } from './channels/index.js';
export type { ChannelKind, ChannelBackend, OpenOptions, RunServices, ServiceRequest } from './channels/index.js';
export { Communicator, DEFAULT_TIMEOUT_MS } from './communicator.js';
export type { CommunicatorOptions, OpOptions, P2POptions } from './communicator.js';
export { encodeValue, decodeValue, cloneValue, isFmiValue, packList, unpackList } from './codec.js';
export type { FmiValue, FmiArray } from './codec.js';
export { resolveOp, elementwise } from './ops.js';
export type { BuiltinOp, UserOp, ReduceOp, ResolvedOp } from './ops.js';
export { FmiDeadlineError, FmiRefusedError, FmiProtocolError } from './errors.js';
export { selectAlgorithm, algorithmShape, allowedAlgorithms, ALGORITHMS, DEFAULT_LATENCY_US, DEFAULT_PER_MESSAGE_US } from './collectives/select.js';
export type { CollectiveOp, AlgorithmName, SelectOptions, Selection, AlgorithmCost } from './collectives/select.js';
export { collectiveTag, pointToPointTag, STEPS_PER_OP } from './collectives/context.js';
export { Mailbox } from './channels/mailbox.js';
export { createInprocWorld } from './channels/inproc/index.js';
export type { InprocWorldOptions } from './channels/inproc/index.js';
export { TcpChannel, channelConfig, RendezvousServer, rendezvous, parseHostPort } from './channels/tcp/index.js';
export type { TcpChannelOptions, RendezvousServerOptions, RendezvousEvent, PeerAddress } from './channels/tcp/index.js';
export { partnersOf } from './collectives/partners.js';
export { startTcpWorld, startInprocWorld, connectTcpChannels, randomSecret, onEveryRank } from './testing/world.js';
export type { World, TcpWorldOptions } from './testing/world.js';
export { measureBarrierAllreduce } from './testing/latency.js';
export type { LatencyFigures } from './testing/latency.js';
// Channels and the channel policy built on the same seams (see docs/fmi-channels.md).
export { openRedisChannel } from './channels/redis/index.js';
export type { RedisChannelOptions } from './channels/redis/index.js';
export { openS3Channel } from './channels/s3/index.js';
export type { S3ChannelOptions } from './channels/s3/index.js';
export { ChannelPolicy, loadPolicyConfig, defaultPolicyConfig } from './policy/index.js';
export type { PolicyConfig, Hint, Explanation } from './policy/index.js';
