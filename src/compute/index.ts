// The registry of compute backends: a name to a backend. The workflow spine (and the CLI) pick a backend
// here and never import one; each backend's engine, and the SDK it needs, loads only when it is opened.
// Adding a platform is one folder beside local-processes/ and lambda/ and one line below.
import { UsageError } from '../errors.js';
import type { ComputeBackend, InvocationBackend } from './backend.js';
import { lambda } from './lambda/index.js';
import { localProcesses } from './local-processes/index.js';

export type * from './backend.js';

const BACKENDS = {
  [localProcesses.name]: localProcesses,
  [lambda.name]: lambda,
} as const satisfies Record<string, ComputeBackend>;

/** The backend of this machine: what `cai run` and the embedded engine use unless told otherwise. */
export const DEFAULT_COMPUTE_BACKEND = localProcesses.name;

export type ComputeBackendName = keyof typeof BACKENDS;
export const COMPUTE_BACKEND_NAMES = Object.keys(BACKENDS) as ComputeBackendName[];

/** The backend registered under `name`; a UsageError listing the known ones otherwise. */
export function computeBackend<N extends ComputeBackendName>(name: N): (typeof BACKENDS)[N];
export function computeBackend(name: string): ComputeBackend;
export function computeBackend(name: string): ComputeBackend {
  const b = (BACKENDS as Record<string, ComputeBackend>)[name];
  if (!b) throw new UsageError(`unknown compute backend "${name}" (known: ${COMPUTE_BACKEND_NAMES.join(', ')})`);
  return b;
}

/** A backend that runs invocations for the embedded state machine; a UsageError for one that runs whole executions. */
export function invocationBackend(name: string): InvocationBackend {
  const b = computeBackend(name);
  if (b.runs !== 'invocations') throw new UsageError(`compute backend "${name}" runs the whole state machine on its platform, not under the embedded engine`);
  return b;
}
