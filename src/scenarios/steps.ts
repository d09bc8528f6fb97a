// Steps: what `start` does to create a scenario's situation and what `solve` does to resolve it,
// through the same paths a student uses (the agent's API, commands run inside the lab's
// namespaces). Each step returns a line saying what it did, which `solve` prints: the reference
// solution is also a worked example.
import { AgentClient } from '../client.js';
import { KnetlabError } from '../errors.js';
import { run } from '../kernel/exec.js';
import { resolveUrl } from '../lifecycle/curl.js';
import { applyObjects, labStatus } from '../lifecycle/up.js';
import { evaluateNamedCheck, pollUntil } from './checks.js';
import { expandPlaceholders, resolvePodName, resolveScenarioTarget } from './lab.js';
import { scenarioManifests, type Scenario } from './load.js';
import { evaluatePredicate } from './predicates.js';
import { PREDICATE_KINDS, type PredicateKind, type Predicates, type Step } from './schema.js';
import type { ScenarioState } from './state.js';

const DEFAULT_WAIT_SECONDS = 30;
const API_PATHS = { pod: '/api/v1/namespaces/NS/pods/', service: '/api/v1/namespaces/NS/services/', deployment: '/apis/apps/v1/namespaces/NS/deployments/' } as const;

export async function runStep(lab: string, scenario: Scenario, state: ScenarioState, step: Step): Promise<string> {
  if ('exec' in step) {
    const { in: where, namespace, command, allowFailure } = step.exec;
    const target = await resolveScenarioTarget(lab, where, namespace);
    const argv = await Promise.all(command.map((arg) => expandPlaceholders(lab, arg, namespace)));
    const r = await run(['ip', 'netns', 'exec', target.netns, ...argv], { allowFailure: true });
    if (r.exitCode !== 0 && !allowFailure) throw new KnetlabError(`in ${where}, \`${argv.join(' ')}\` failed (exit ${r.exitCode}): ${r.stderr || r.stdout}`);
    return `knetlab exec ${target.kind === 'pod' ? target.name : where} -- ${argv.join(' ')}`;
  }
  if ('delete' in step) {
    const { object, namespace = 'default' } = typeof step.delete === 'string' ? { object: step.delete } : step.delete;
    const [kind, ref] = object.split('/', 2) as [keyof typeof API_PATHS, string];
    const name = kind === 'pod' ? await resolvePodName(lab, ref, namespace) : ref;
    await new AgentClient(lab).delete(API_PATHS[kind].replace('NS', namespace) + name);
    return `knetlab delete ${kind} ${name}${namespace === 'default' ? '' : ` -n ${namespace}`}`;
  }
  if ('apply' in step) {
    const files = [step.apply].flat();
    const { objects } = await scenarioManifests(scenario, files);
    const failed = (await applyObjects(lab, objects)).filter((r) => r.error);
    if (failed.length) throw new KnetlabError(`applying ${files.join(', ')} failed: ${failed.map((r) => r.error).join('; ')}`);
    return `knetlab apply ${files.map((f) => `-f ${scenario.dir}/${f}`).join(' ')}`;
  }
  if ('sysctl' in step) {
    const { node, key, value } = step.sysctl;
    const found = (await labStatus(lab)).nodes.find((n) => n.name === node);
    if (!found) throw new KnetlabError(`lab "${lab}" has no node "${node}"`);
    await run(['ip', 'netns', 'exec', found.netns, 'sysctl', '-q', '-w', `${key}=${value}`]);
    return `knetlab exec node/${node} -- sysctl -w ${key}=${value}`;
  }
  if ('curl' in step) {
    const { from, to, namespace = 'default', count = 1 } = step.curl;
    const target = await resolveScenarioTarget(lab, from, namespace);
    const url = await resolveUrl(lab, await expandPlaceholders(lab, to, namespace), namespace);
    await run(['ip', 'netns', 'exec', target.netns, 'curl', '-sS', '--max-time', '3', '-H', 'Connection: close', ...Array<string>(count).fill(url)], { allowFailure: true });
    return `knetlab curl --from ${from} ${to}${count > 1 ? ` -n ${count}` : ''}`;
  }
  if ('answer' in step) {
    state.answers[step.answer.quiz] = step.answer.value;
    return `knetlab scenario answer ${scenario.id} ${step.answer.quiz} ${step.answer.value}`;
  }
  const { timeout = DEFAULT_WAIT_SECONDS, ...condition } = step.wait;
  if ('check' in condition) {
    const name = condition.check as string;
    await pollUntil(`check ${name}`, timeout, () => evaluateNamedCheck(lab, scenario, state, name));
    return `(waited for check ${name})`;
  }
  const kind = PREDICATE_KINDS.find((k) => k in condition)!;
  await pollUntil(kind, timeout, () => evaluatePredicate(lab, kind, (condition as Predicates)[kind as PredicateKind]));
  return `(waited: ${kind} ${JSON.stringify((condition as Predicates)[kind])})`;
}

export async function runSteps(lab: string, scenario: Scenario, state: ScenarioState, steps: Step[]): Promise<string[]> {
  const done: string[] = [];
  for (const step of steps) done.push(await runStep(lab, scenario, state, step));
  return done;
}
