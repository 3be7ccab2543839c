// The thread that owns the onnxruntime session. onnxruntime-node's run() blocks the thread that calls it
// for the whole batch; running it here keeps the caller's event loop free to fetch and verify the next
// partitions while the model works.
import { parentPort, workerData } from 'node:worker_threads';
import { runBatches } from './batches.js';
import { openSession, type OpenedSession } from './session.js';
import { toWire, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

let session: OpenedSession | undefined;
// Messages are handled one at a time, in order: a partition queued behind another waits for it.
let queue: Promise<void> = Promise.resolve();

async function start(): Promise<void> {
  try {
    session = await openSession(init.model, {
      device: init.device,
      threads: init.threads,
      io: init.io,
      onFallback: (message) => send({ type: 'fallback', message }),
    });
    send({ type: 'ready', device: session.device, io: session.io, modelName: session.modelName });
  } catch (err) {
    send({ type: 'error', error: toWire(err) });
  }
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'close') {
    await session?.session.release();
    session = undefined;
    send({ type: 'closed' });
    port.close();
    return;
  }
  try {
    if (!session) throw new Error('the inference session is not open');
    const r = await runBatches(session, m.image, m.magnitude, m.count, m.batchSize, (done) => send({ type: 'batch', id: m.id, done }));
    send({ type: 'result', id: m.id, zPred: r.zPred, batches: r.batches, inferenceMs: r.inferenceMs }, [r.zPred.buffer as ArrayBuffer]);
  } catch (err) {
    send({ type: 'error', id: m.id, error: toWire(err) });
  }
}

const ready = start();
port.on('message', (m: ToWorker) => {
  queue = queue.then(() => ready).then(() => handle(m));
});
