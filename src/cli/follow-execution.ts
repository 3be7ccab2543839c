// Start an execution of the deployed state machine and follow it to its summary (`cai aws run --wait` and
// a Lambda pick of `cai run --auto`), with the progress line on stderr. SIGINT/SIGTERM stop the waiting,
// not the execution, which goes on on AWS.
import type { ExecutionRequest } from '../compute/lambda/engine.js';
import { CaiError, ExitCode } from '../errors.js';
import type { Summary } from '../workflow/contracts.js';
import { Progress } from './output.js';
import { executionProgressLine } from './render/run.js';
import { stopOnSignals } from './signals.js';

export interface Polling {
  json?: boolean;
  pollS: number;
  waitTimeoutS?: number;
}

/**
 * `started` sees the execution ARN first and returns false to stop there (no summary). An execution that
 * ends other than SUCCEEDED is a CaiError (exit 6 when it timed out).
 */
export async function startAndFollow(req: ExecutionRequest, polling: Polling, started: (executionArn: string) => boolean): Promise<Summary | undefined> {
  const { computeBackend } = await import('../compute/index.js');
  const runner = await computeBackend('aws-lambda').open({ stateMachineArn: req.stateMachineArn });
  try {
    const { executionArn } = await runner.start(req);
    if (!started(executionArn)) return undefined;
    const progress = new Progress(polling);
    const t0 = Date.now();
    const stop = stopOnSignals((signal) => `stopped waiting by ${signal}: execution ${executionArn} goes on on AWS`);
    let end;
    try {
      end = await runner.wait(executionArn, {
        intervalMs: polling.pollS * 1000,
        ...(polling.waitTimeoutS !== undefined ? { timeoutS: polling.waitTimeoutS } : {}),
        onUpdate: (state) => progress.update(executionProgressLine(state, Math.round((Date.now() - t0) / 1000)), true),
        signal: stop.signal,
      });
    } finally {
      stop.dispose();
      progress.done();
    }
    if (end.status !== 'SUCCEEDED') {
      const why = [end.error, end.cause].filter(Boolean).join(': ').replace(/\s*\n\s*/g, ' ').slice(0, 500);
      throw new CaiError(`execution ${executionArn} ended ${end.status}${why ? `: ${why}` : ''}`, end.status === 'TIMED_OUT' ? ExitCode.timeout : ExitCode.internal);
    }
    const { readRunSummary } = await import('../workflow/summary/store.js');
    return await readRunSummary(req.input.run);
  } finally {
    await runner.close();
  }
}
