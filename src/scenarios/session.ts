// A scenario's life on a lab: start (build the scenario's own lab, create the situation, record
// the facts checks compare with), hint, answer, check, solve and reset. The lab is built through
// the same core as `knetlab up`; the scenario's memory is scenario.json in the lab's state dir.
import { existsSync } from 'node:fs';
import type { Deployment, Pod } from '../api/types.js';
import { labPaths } from '../agent/paths.js';
import { AgentClient } from '../client.js';
import { labPrefix } from '../dataplane/names.js';
import { KnetlabError, UsageError } from '../errors.js';
import { listNetns } from '../kernel/ip.js';
import { failedChecks, runChecks } from '../lifecycle/doctor.js';
import { downLab } from '../lifecycle/down.js';
import { resolveLabName } from '../lifecycle/lab-name.js';
import { applyObjects, ensureLab, withLabLock } from '../lifecycle/up.js';
import { evaluateChecks, isAcceptedAnswer, pollUntil, recordFacts, type CheckResult } from './checks.js';
import { scenarioConfig, scenarioManifests, type Scenario } from './load.js';
import { isReady } from './predicates.js';
import { readScenarioState, requireScenarioState, writeScenarioState, type ScenarioState } from './state.js';
import { runSteps } from './steps.js';

const SETTLE_SECONDS = 30;
const SOLVED_SECONDS = 30;

/**
 * The lab a scenario command works on: --lab, else $KNETLAB_LAB, else the scenario's id. A
 * KNETLAB_LAB left exported from another scenario (its lab runs that one) is passed over, so a
 * student can go from one scenario to the next by following what `start` prints.
 */
export function scenarioLab(id: string, flag: string | undefined): { lab: string; note?: string } {
  if (flag) return { lab: resolveLabName(flag) };
  const env = process.env.KNETLAB_LAB;
  if (!env) return { lab: resolveLabName(id) };
  const other = readScenarioState(env)?.scenario;
  if (other && other !== id) return { lab: resolveLabName(id), note: `KNETLAB_LAB=${env} is the lab of scenario ${other}; using lab "${id}"` };
  return { lab: resolveLabName(env) };
}

function labExists(lab: string): boolean {
  return existsSync(labPaths(lab).dir) || listNetns().some((n) => n.startsWith(labPrefix(lab)));
}

/** Builds the lab afresh (removing an earlier run of this scenario), sets up the situation and records facts. */
export async function startScenario(s: Scenario, lab: string, keep: Partial<Pick<ScenarioState, 'hintsShown'>> = {}): Promise<ScenarioState> {
  // Everything the scenario names is read and validated before anything is touched.
  const { config } = scenarioConfig(s);
  const { objects } = await scenarioManifests(s);
  if (labExists(lab)) {
    const owner = readScenarioState(lab)?.scenario;
    if (owner !== s.id) {
      throw new UsageError(`lab "${lab}" already exists${owner ? ` and runs scenario ${owner}` : ''}; a scenario starts on a lab of its own`, {
        hint: `remove it with \`knetlab down --lab ${lab}\`, or start the scenario on another lab: --lab NAME`,
      });
    }
    await downLab(lab);
  }
  const state: ScenarioState = { scenario: s.id, lab, startedAt: new Date().toISOString(), hintsShown: keep.hintsShown ?? 0, answers: {}, facts: {} };
  await withLabLock(lab, async () => {
    const failed = failedChecks(await runChecks());
    if (failed.length) throw new KnetlabError(`this machine cannot run a lab yet:\n${failed.map((c) => `  ${c.name}: ${c.detail} — fix: ${c.fix}`).join('\n')}`);
    await ensureLab(lab, config);
    writeScenarioState(state); // the lab is the scenario's from here on, even if setup fails
    const errors = (await applyObjects(lab, objects)).filter((r) => r.error);
    if (errors.length) throw new KnetlabError(`applying the scenario's manifests failed: ${errors.map((r) => `${r.kind} ${r.name}: ${r.error}`).join('; ')}`);
  });
  await pollUntil('the pods of every Deployment to be ready', SETTLE_SECONDS, () => settled(lab));
  await runSteps(lab, s, state, s.spec.setup); // steps with `record` keep their facts in state.facts
  state.facts = { ...state.facts, ...(await recordFacts(lab, s.spec.checks)) };
  writeScenarioState(state);
  return state;
}

/** Every Deployment has all its replicas ready, and every pod runs. */
async function settled(lab: string) {
  const client = new AgentClient(lab);
  const deployments = (await client.get<{ items: Deployment[] }>('/apis/apps/v1/deployments')).items;
  const pods = (await client.get<{ items: Pod[] }>('/api/v1/pods')).items;
  const waiting = [
    ...deployments.filter((d) => (d.status?.readyReplicas ?? 0) !== (d.spec.replicas ?? 1)).map((d) => `deployment ${d.metadata.name}`),
    ...pods.filter((p) => p.status?.phase !== 'Running' || (p.spec.containers.some((c) => c.readinessProbe) && !isReady(p))).map((p) => `pod ${p.metadata.name}`),
  ];
  return { passed: waiting.length === 0, detail: { en: `waiting for ${waiting.join(', ')}`, zh: `等待 ${waiting.join('、')}` } };
}

/** Back to the starting situation: a fresh lab, fresh facts, no answers; hints already seen stay seen. */
export async function resetScenario(s: Scenario, lab: string): Promise<ScenarioState> {
  const { hintsShown } = requireScenarioState(lab, s.id);
  return startScenario(s, lab, { hintsShown });
}

export interface Solved {
  steps: string[];
  results: CheckResult[];
}

/** Runs the reference solution, then waits (a while) for every check to pass. */
export async function solveScenario(s: Scenario, lab: string): Promise<Solved> {
  const state = requireScenarioState(lab, s.id);
  const steps = await runSteps(lab, s, state, s.spec.solve);
  writeScenarioState(state);
  let results: CheckResult[] = [];
  await pollUntil('every check to pass after the solution', SOLVED_SECONDS, async () => {
    results = await evaluateChecks(lab, s, state);
    const missing = results.filter((r) => !r.passed);
    return { passed: missing.length === 0, detail: { en: missing.map((r) => `${r.name}: ${r.detail.en}`).join('; '), zh: '' } };
  }).catch(() => undefined); // the caller shows which checks still fail
  return { steps, results };
}

export async function checkScenario(s: Scenario, lab: string): Promise<CheckResult[]> {
  return evaluateChecks(lab, s, requireScenarioState(lab, s.id));
}

/** The next hint (1-based); once all are shown, the last one again. */
export function nextHint(s: Scenario, lab: string): { number: number; total: number; more: boolean } {
  const state = requireScenarioState(lab, s.id);
  const total = s.spec.hints.en.length;
  state.hintsShown = Math.min(state.hintsShown + 1, total);
  writeScenarioState(state);
  return { number: state.hintsShown, total, more: state.hintsShown < total };
}

export function recordAnswer(s: Scenario, lab: string, quizId: string, value: string): boolean {
  const quiz = s.spec.quiz.find((q) => q.id === quizId);
  if (!quiz) {
    const ids = s.spec.quiz.map((q) => q.id);
    throw new UsageError(`scenario ${s.id} has no question "${quizId}"`, { hint: ids.length ? `its questions: ${ids.join(', ')}` : 'this scenario has no questions' });
  }
  const state = requireScenarioState(lab, s.id);
  state.answers[quizId] = value;
  writeScenarioState(state);
  return isAcceptedAnswer(quiz, value, state);
}
