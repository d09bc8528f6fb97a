// What a started scenario remembers, in the lab's own state directory
// (/run/knetlab/LAB/scenario.json): which scenario the lab runs, how many hints were shown, the
// quiz answers recorded, and the facts measured at the start (pod IPs, ClusterIPs) that checks
// compare with. It lives and dies with the lab: `knetlab down` removes it with the rest.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labPaths } from '../agent/paths.js';
import { KnetlabError, UsageError } from '../errors.js';

export interface ScenarioState {
  scenario: string;
  lab: string;
  startedAt: string;
  hintsShown: number;
  /** Quiz id -> what the student answered last. */
  answers: Record<string, string>;
  /** Check name -> what that check measured at the start. */
  facts: Record<string, unknown>;
}

export function scenarioStatePath(lab: string): string {
  return join(labPaths(lab).dir, 'scenario.json');
}

export function readScenarioState(lab: string): ScenarioState | undefined {
  const file = scenarioStatePath(lab);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ScenarioState;
  } catch (err) {
    throw new KnetlabError(`cannot read ${file}: ${(err as Error).message}`, { hint: 'start the scenario again: `knetlab scenario start NAME`', cause: err });
  }
}

export function writeScenarioState(state: ScenarioState): void {
  writeFileSync(scenarioStatePath(state.lab), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

/** The state of `scenario` in `lab`, or a UsageError saying how to get there. */
export function requireScenarioState(lab: string, scenario: string): ScenarioState {
  const state = readScenarioState(lab);
  if (!state) {
    throw new UsageError(`scenario "${scenario}" is not running in lab "${lab}"`, {
      hint: `start it with \`knetlab scenario start ${scenario}\`${lab === scenario ? '' : `, or name its lab: --lab NAME (or export KNETLAB_LAB=NAME)`}`,
    });
  }
  if (state.scenario !== scenario) {
    throw new UsageError(`lab "${lab}" runs scenario "${state.scenario}", not "${scenario}"`, {
      hint: `use \`knetlab scenario ... ${state.scenario}\`, or \`unset KNETLAB_LAB\` / --lab ${scenario} to reach the lab of ${scenario}`,
    });
  }
  return state;
}
