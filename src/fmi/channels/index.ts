// Every FMI channel kind and where its backend lives: the one place that knows the kinds. Backends load
// on first use, so a process that never opens Redis or S3 never loads ioredis or the AWS SDK.
// Adding a channel: a folder channels/<kind>/ whose index.ts exports `backend` (a ChannelBackend, see
// backend.ts), and one line below.
import { UsageError } from '../../errors.js';
import type { ChannelBackend } from './backend.js';

interface Registered {
  load: () => Promise<{ backend: ChannelBackend<any> }>;
  /** Ranks may live in different processes (false: one process opens the whole world). */
  acrossProcesses: boolean;
}

const REGISTRY = {
  tcp: { load: () => import('./tcp/index.js'), acrossProcesses: true },
  redis: { load: () => import('./redis/index.js'), acrossProcesses: true },
  s3: { load: () => import('./s3/index.js'), acrossProcesses: true },
  inproc: { load: () => import('./inproc/index.js'), acrossProcesses: false },
} satisfies Record<string, Registered>;

export type ChannelKind = keyof typeof REGISTRY;

export const CHANNEL_KINDS = Object.keys(REGISTRY) as ChannelKind[];

/** Kinds whose ranks can live in separate processes (or machines). */
export const NETWORK_CHANNEL_KINDS = CHANNEL_KINDS.filter((k) => REGISTRY[k].acrossProcesses);

export function isChannelKind(kind: string): kind is ChannelKind {
  return Object.hasOwn(REGISTRY, kind);
}

/** The backend of `kind`; an unknown kind is a usage error listing the known ones. */
export async function channelBackend(kind: string): Promise<ChannelBackend> {
  if (!isChannelKind(kind)) throw new UsageError(`unknown FMI channel "${kind}"; choose one of ${CHANNEL_KINDS.join(', ')}`);
  const { backend } = await REGISTRY[kind].load();
  return backend as ChannelBackend;
}

export type { ChannelBackend, OpenOptions, RunServices, ServiceRequest } from './backend.js';
