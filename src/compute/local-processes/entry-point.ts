// The program of one local function instance (a worker process). It names itself `cai-worker` so `ps`
// shows the instances, loads its handlers once (the cold start), then serves invocations from the pool one
// at a time until the pool closes the channel.
//
// An instance never outlives its pool's process: the channel closing (its parent died or let it go) and,
// as a second sign, its parent pid changing (it was re-parented) both end it at once. Busy, it ends with
// SIGKILL on itself: an orderly exit would wait for the model thread's native call to return, seconds on a
// loaded machine, and nothing it would finish may be written anyway (the run lock refuses it). Ctrl-C
// reaches the whole process group; the pool's process decides about the instances, so SIGINT is ignored.
process.title = 'cai-worker';

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneLine } from '../../errors.js';
import { peakRssBytes } from '../../util/peak-memory.js';
import type { InstanceTask } from '../backend.js';
import type { Handler, InvocationContext, Preparer } from '../context.js';
import type { FromInstance, ToInstance } from './protocol.js';

/** Longest error message sent back over the channel. */
const MAX_MESSAGE_CHARS = 2000;

/**
 * What this instance runs: one handler for every task when the pool names one ($CAI_WORKER_HANDLER, for
 * tests and tools), else the task handlers next to this file's tree in the same form (.ts source or built .js).
 */
interface Handlers {
  handler(task: InstanceTask): Handler | undefined;
  preparer(task: InstanceTask): Preparer | undefined;
}

async function loadHandlers(): Promise<Handlers> {
  const spec = process.env.CAI_WORKER_HANDLER;
  if (spec) {
    const hash = spec.lastIndexOf('#');
    const url = spec.slice(0, hash);
    const name = spec.slice(hash + 1);
    const handler = ((await import(url)) as Record<string, unknown>)[name];
    if (typeof handler !== 'function') {
      process.stderr.write(`cai-worker: ${url} has no function "${name}"\n`);
      process.exit(2);
    }
    return { handler: () => handler as Handler, preparer: () => undefined };
  }
  const ext = extname(fileURLToPath(import.meta.url));
  const { TASK_HANDLERS, TASK_PREPARERS } = (await import(new URL(`../tasks${ext}`, import.meta.url).href)) as typeof import('../tasks.js');
  return { handler: (task) => TASK_HANDLERS[task], preparer: (task) => TASK_PREPARERS[task] };
}

function send(m: FromInstance): void {
  if (process.connected) process.send!(m);
}

if (!process.send) {
  process.stderr.write('cai-worker: this program is started by the local compute pool, not by hand\n');
  process.exit(2);
}

// The runtime is up; what follows is loading the handlers' code.
const bootMs = process.uptime() * 1000;

/** How often the parent pid is compared, ms: the channel closing is the main sign, this the fallback. */
const PARENT_CHECK_MS = 200;
const parentPid = process.ppid;
let busy = false;

function endNow(): void {
  if (!busy) process.exit(0);
  process.kill(process.pid, 'SIGKILL');
}

process.on('SIGINT', () => undefined);
// The pool closing the channel is this instance's shutdown; so is the pool's process dying.
process.on('disconnect', endNow);
setInterval(() => {
  if (process.ppid !== parentPid) endNow();
}, PARENT_CHECK_MS).unref();

const handlers = await loadHandlers();
const slotText = process.env.CAI_INSTANCE_SLOT;
const slot = slotText !== undefined && /^\d+$/.test(slotText) ? Number(slotText) : undefined;

// Serve one invocation at a time; the pool never sends another before this one answers.
process.on('message', (m: ToInstance) => {
  if (m?.type === 'prepare') {
    try {
      handlers.preparer(m.task)?.(m.payload, { slot });
    } catch {
      // A hint that cannot be used changes nothing: the invocation does its own set-up.
    }
    return;
  }
  if (m?.type !== 'invoke') return;
  const ctx: InvocationContext = {
    instanceId: m.instance.id,
    invocation: m.instance.invocation,
    coldStart: m.instance.cold,
    initMs: m.instance.initMs,
    ...(m.instance.startup ? { startup: m.instance.startup } : {}),
    slot: m.instance.slot,
    memoryLimitMb: m.instance.memoryLimitMb,
    remainingMs: () => Math.max(0, m.instance.deadline - Date.now()),
    progress: (data) => send({ type: 'progress', id: m.id, data }),
    peakRssBytes,
  };
  const handler = handlers.handler(m.task);
  busy = true;
  const result = handler ? handler(m.payload, ctx) : Promise.reject(new Error(`this instance serves no task "${String(m.task)}"`));
  result.finally(() => (busy = false)).catch(() => undefined);
  result.then(
    (value) => send({ type: 'result', id: m.id, value, maxRssBytes: peakRssBytes() }),
    (err: unknown) => send({ type: 'error', id: m.id, errorType: err instanceof Error && err.name ? err.name : 'Error', message: oneLine(err).slice(0, MAX_MESSAGE_CHARS), maxRssBytes: peakRssBytes() }),
  );
});
send({ type: 'ready', initMs: process.uptime() * 1000, bootMs });
