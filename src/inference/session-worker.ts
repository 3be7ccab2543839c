// The session host: owns one onnxruntime session and runs partitions through it, one at a time, in order.
// onnxruntime-node's run() blocks the thread that calls it for the whole batch, so the session lives here,
// in a worker thread or a child process, and the caller's event loop stays free to fetch and verify the
// next partitions. The same code serves both; only the port differs.
import { parentPort } from 'node:worker_threads';
import { executionDevice } from '../runtime/devices.js';
import { BatchRunner, warmUp } from './batches.js';
import { openSession, type OpenedSession } from './session.js';
import { toWire, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

interface Port {
  send(m: FromWorker, transfer?: ArrayBuffer[]): void;
  onMessage(handle: (m: ToWorker) => void): void;
  close(): void;
}

function threadPort(port: NonNullable<typeof parentPort>): Port {
  return {
    send: (m, transfer = []) => port.postMessage(m, transfer),
    onMessage: (handle) => port.on('message', handle),
    close: () => port.close(),
  };
}

function processPort(): Port {
  // The engine's end of the channel going away (its process ended) ends this one too.
  process.on('disconnect', () => process.exit(0));
  return {
    send: (m) => process.send!(m),
    onMessage: (handle) => process.on('message', (m) => handle(m as ToWorker)),
    close: () => process.disconnect(),
  };
}

const port = parentPort ? threadPort(parentPort) : processPort();

let session: OpenedSession | undefined;
let runner: BatchRunner | undefined;
// Messages are handled one at a time, in order: a partition queued behind another waits for it.
let queue: Promise<void> = Promise.resolve();

async function start(init: WorkerInit): Promise<void> {
  try {
    const t0 = performance.now();
    session = await openSession(init.model, { device: init.device, slot: init.slot, threads: init.threads, io: init.io });
    const openMs = performance.now() - t0;
    const device = executionDevice(session.device);
    runner = new BatchRunner(session, init.batchSize, device.fixedBatchShape);
    const warmUpMs = device.warmUp ? await warmUp(runner) : 0;
    port.send({ type: 'ready', device: session.device, io: session.io, modelName: session.modelName, openMs, warmUpMs, timings: session.timings });
  } catch (err) {
    port.send({ type: 'error', error: toWire(err) });
  }
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'init') return start(m.init);
  if (m.type === 'close') {
    await session?.session.release();
    session = undefined;
    port.send({ type: 'closed' });
    port.close();
    return;
  }
  try {
    if (!runner) throw new Error('the inference session is not open');
    const r = await runner.run(m.image, m.magnitude, m.count, (done) => port.send({ type: 'batch', id: m.id, done }));
    port.send({ type: 'result', id: m.id, zPred: r.zPred, batches: r.batches, inferenceMs: r.inferenceMs }, [r.zPred.buffer as ArrayBuffer]);
  } catch (err) {
    port.send({ type: 'error', id: m.id, error: toWire(err) });
  }
}

port.onMessage((m) => {
  queue = queue.then(() => handle(m));
});
