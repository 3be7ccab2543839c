// The state machine as deployed on AWS: the very definition the local engine runs (buildDefinition), with
// the Lambda ARNs as CloudFormation definition substitutions, and the Map's concurrency, the tolerated
// failures and whether the Report task runs read from the execution input, so one deployment serves runs
// of any --concurrency, with or without a report.
import { buildDefinition, STATE, type AslDefinition, type RetryPolicy } from '../../workflow/definition.js';
import { RANK_STATE_GRACE_S, type LambdaTask } from '../../compute/lambda/config.js';

/** Substitution variable of each task's function ARN in the definition string. */
export const ARN_SUBSTITUTIONS: Readonly<Record<LambdaTask, string>> = Object.freeze({
  initialize: 'InitializeFunctionArn',
  rank: 'RankFunctionArn',
  summarize: 'SummarizeFunctionArn',
  report: 'ReportFunctionArn',
});

/** The Map reads these from the execution input's run object. */
export const CONCURRENCY_PATH = '$.run.concurrency';
export const TOLERATED_FAILURE_PATH = '$.run.toleratedFailurePercentage';

export interface DeployedDefinitionParams {
  /** The rank function's timeout; the state allows a little more, so the function's own limit ends it first. */
  rankTimeoutS: number;
  controlTimeoutS: number;
  retry?: RetryPolicy;
}

const placeholder = (task: LambdaTask): string => '${' + ARN_SUBSTITUTIONS[task] + '}';

/** The definition with ${...} placeholders for the function ARNs. */
export function deployedDefinition(p: DeployedDefinitionParams): AslDefinition {
  const def = buildDefinition({
    initializeArn: placeholder('initialize'),
    rankArn: placeholder('rank'),
    summarizeArn: placeholder('summarize'),
    reportArn: placeholder('report'),
    report: 'by-input',
    // Replaced by the paths below; any valid figure will do here.
    maxConcurrency: 1,
    toleratedFailurePercentage: 0,
    rankTimeoutSeconds: p.rankTimeoutS + RANK_STATE_GRACE_S,
    controlTimeoutSeconds: p.controlTimeoutS,
    ...(p.retry ? { retry: p.retry } : {}),
  });
  const map = def.States[STATE.ranks];
  if (!map || map.Type !== 'Map') throw new Error(`the definition has no Map state "${STATE.ranks}"`);
  delete map.MaxConcurrency;
  delete map.ToleratedFailurePercentage;
  map.MaxConcurrencyPath = CONCURRENCY_PATH;
  map.ToleratedFailurePercentagePath = TOLERATED_FAILURE_PATH;
  return def;
}

/** Replace ${Name} placeholders as Step Functions does with DefinitionSubstitutions. */
export function substituteDefinition(definition: string, values: Readonly<Record<string, string>>): string {
  return definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}
