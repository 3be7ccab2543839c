// The program of one local function instance (a worker process). It names itself `cai-worker` so `ps`
// shows the instances, loads the handler once (the cold start), then serves invocations from the pool one
// at a time until the pool closes the channel.
process.title = 'cai-worker';

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Handler, InvocationContext } from '../context.js';
import type { FromInstance, ToInstance } from './protocol.js';

/** Default handler: the rank handler, next to this file's tree in the same form (.ts source or built .js). */
function handlerSpec(): { url: string; name: string } {
  const spec = process.env.CAI_WORKER_HANDLER;
  if (spec) {
    const hash = spec.lastIndexOf('#');
    return { url: spec.slice(0, hash), name: spec.slice(hash + 1) };
  }
  const ext = extname(fileURLToPath(import.meta.url));
  return { url: new URL(`../../workflow/rank-handler${ext}`, import.meta.url).href, name: 'handleRank' };
}

function send(m: FromInstance): void {
  if (process.connected) process.send!(m);
}

function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim().slice(0, 2000);
}

if (!process.send) {
  process.stderr.write('cai-worker: this program is started by the local compute pool, not by hand\n');
  process.exit(2);
}

const spec = handlerSpec();
const mod = (await import(spec.url)) as Record<string, unknown>;
const handler = mod[spec.name] as Handler | undefined;
if (typeof handler !== 'function') {
  process.stderr.write(`cai-worker: ${spec.url} has no function "${spec.name}"\n`);
  process.exit(2);
}

// Serve one invocation at a time; the pool never sends another before this one answers.
process.on('message', (m: ToInstance) => {
  if (m?.type !== 'invoke') return;
  const ctx: InvocationContext = {
    instanceId: m.instance.id,
    invocation: m.instance.invocation,
    coldStart: m.instance.cold,
    initMs: m.instance.initMs,
    memoryLimitMb: m.instance.memoryLimitMb,
    remainingMs: () => Math.max(0, m.instance.deadline - Date.now()),
    progress: (data) => send({ type: 'progress', id: m.id, data }),
    peakRssBytes: maxRssBytes,
  };
  handler(m.payload, ctx).then(
    (value) => send({ type: 'result', id: m.id, value, maxRssBytes: maxRssBytes() }),
    (err: unknown) => send({ type: 'error', id: m.id, errorType: err instanceof Error && err.name ? err.name : 'Error', message: oneLine(err), maxRssBytes: maxRssBytes() }),
  );
});
// The pool closing the channel is this instance's shutdown.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', initMs: process.uptime() * 1000 });
