// What a synthesized stack holds, read back from its CloudFormation template: the state machine's name and
// states, the functions' sizes and a count of resources by type. The template is the source, so the
// summary shows what `cdk deploy` would create, not what was asked for.
import { STATE } from '../../workflow/definition.js';
import type { SynthResult } from './synth.js';

export interface SynthSummary {
  outDir: string;
  stackName: string;
  templateFile: string;
  imageHash: string;
  stateMachineName: string;
  /** The top-level states, then the states of the Map over ranks. */
  states: string[];
  rankFunction: { memoryMb: number; timeoutS: number; ephemeralMb: number };
  controlFunctions: { memoryMb: number; timeoutS: number };
  /** Resources of the template by CloudFormation type. */
  resources: Record<string, number>;
}

interface StateMachineDefinition {
  States: Record<string, { ItemProcessor?: { States: Record<string, unknown> } }>;
}

/** The summary, and the flow of states in one line: "Initialize -> Ranks [Rank] -> Summarize". */
export function summarizeSynth(r: SynthResult): { summary: SynthSummary; flow: string } {
  const resources: Record<string, number> = {};
  for (const res of Object.values(r.template.Resources)) resources[res.Type] = (resources[res.Type] ?? 0) + 1;
  const machine = Object.values(r.template.Resources).find((x) => x.Type === 'AWS::StepFunctions::StateMachine');
  if (!machine?.Properties) throw new Error(`${r.templateFile}: the template has no state machine`);
  const definition = JSON.parse(String(machine.Properties.DefinitionString)) as StateMachineDefinition;
  const top = Object.keys(definition.States);
  const inner = Object.keys(definition.States[STATE.ranks]?.ItemProcessor?.States ?? {});
  const { config } = r.stack;
  const summary: SynthSummary = {
    outDir: r.outDir,
    stackName: r.stackName,
    templateFile: r.templateFile,
    imageHash: r.imageHash,
    stateMachineName: String(machine.Properties.StateMachineName),
    states: [...top, ...inner],
    rankFunction: { memoryMb: config.rankMemoryMb, timeoutS: config.rankTimeoutS, ephemeralMb: config.ephemeralStorageMb },
    controlFunctions: { memoryMb: config.controlMemoryMb, timeoutS: config.controlTimeoutS },
    resources,
  };
  const flow = top.map((n) => (n === STATE.ranks ? `${n} [${inner.join(' | ')}]` : n)).join(' -> ');
  return { summary, flow };
}
