// plan.json, written once by Initialize and read by every rank and by Summarize, and the data set a plan
// was made on: reopened by its recorded digest, so a changed manifest is noticed instead of mixed in.
import { DataError } from '../errors.js';
import { describeKey, openDataset, type Dataset } from '../data/dataset.js';
import { openStorage, type Storage } from '../storage/index.js';
import { MAX_PLAN_BYTES, parseContract, planSchema, resultKeys, type Plan, type RunConfig } from './contracts.js';

/** The run's plan; the key must be the run's own plan key, and the plan must name the run. */
export async function readPlan(results: Storage, runId: string, planKey: string = resultKeys.plan(runId)): Promise<Plan> {
  const expected = resultKeys.plan(runId);
  if (planKey !== expected) throw new DataError(planKey, `plan key must be ${expected} for run ${runId}`);
  const where = describeKey(results, planKey);
  const plan = parseContract(planSchema, await results.get(planKey, { maxBytes: MAX_PLAN_BYTES }), where);
  if (plan.runId !== runId) throw new DataError(where, `belongs to run ${plan.runId}, not ${runId}`);
  return plan;
}

export async function writePlan(results: Storage, plan: Plan): Promise<void> {
  await results.put(resultKeys.plan(plan.runId), JSON.stringify(plan, null, 2) + '\n');
}

/** Open the run's data set and check it is the one the run was planned on. */
export function openPlannedDataset(run: RunConfig, plan: Plan): Promise<Dataset> {
  return openDataset(openStorage(run.data.uri), run.data.manifestKey, { expectSha256: plan.manifest.sha256 });
}
