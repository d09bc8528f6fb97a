// Steps: what `start` does to create a scenario's situation and what `solve` does to resolve it,
// through the same paths a student uses (the agent's API, commands run inside the lab's
// namespaces, the knetlab commands themselves). Each step returns a line saying what it did,
// which `solve` prints: the reference solution is also a worked example. A step may `record` what
// it saw (a command's output, the pod that answered) as a fact that quiz answers refer to.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentClient } from '../client.js';
import { KnetlabError } from '../errors.js';
import { run } from '../kernel/exec.js';
import { resolveUrl } from '../lifecycle/curl.js';
import { applyObjects, ensureLab, labStatus, withLabLock } from '../lifecycle/up.js';
import { evaluateNamedCheck, memoryOf, pollUntil } from './checks.js';
import { expandPlaceholders, resolvePodName, resolveScenarioTarget } from './lab.js';
import { scenarioConfigFile, scenarioManifests, type Scenario } from './load.js';
import { evaluatePredicate } from './predicates.js';
import { PREDICATE_KINDS, type PredicateKind, type Predicates, type Step } from './schema.js';
import type { ScenarioState } from './state.js';

const DEFAULT_WAIT_SECONDS = 30;
const API_PATHS = { pod: '/api/v1/namespaces/NS/pods/', service: '/api/v1/namespaces/NS/services/', deployment: '/apis/apps/v1/namespaces/NS/deployments/' } as const;

/** bin/run.js of this package (found from here, in src/ or in dist/src/). */
function knetlabBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'bin', 'run.js');
}

export async function runStep(lab: string, scenario: Scenario, state: ScenarioState, step: Step): Promise<string> {
  const memory = memoryOf(state);
  if ('exec' in step) {
    const { in: where, namespace, command, allowFailure, record } = step.exec;
    const target = await resolveScenarioTarget(lab, where, namespace);
    const argv = await Promise.all(command.map((arg) => expandPlaceholders(lab, arg, namespace, memory)));
    const r = await run(['ip', 'netns', 'exec', target.netns, ...argv], { allowFailure: true });
    if (r.exitCode !== 0 && !allowFailure) throw new KnetlabError(`in ${where}, \`${argv.join(' ')}\` failed (exit ${r.exitCode}): ${r.stderr || r.stdout}`);
    if (record) state.facts[record] = r.stdout.trim();
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
    const { from, to, namespace = 'default', count = 1, localPort, record } = step.curl;
    const target = await resolveScenarioTarget(lab, from, namespace);
    const url = await resolveUrl(lab, await expandPlaceholders(lab, to, namespace, memory), namespace);
    const port = localPort === undefined ? [] : ['--local-port', String(localPort)];
    const r = await run(['ip', 'netns', 'exec', target.netns, 'curl', '-sS', '--max-time', '3', '-H', 'Connection: close', '-w', '\\n', ...port, ...Array<string>(count).fill(url)], { allowFailure: true });
    if (record) {
      const first = r.stdout.split('\n').find(Boolean)?.trim();
      if (!first) throw new KnetlabError(`curl from ${from} to ${url} got no answer to record as ${record}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
      state.facts[record] = first;
    }
    const shown = target.kind === 'pod' ? `pod/${target.name}` : from;
    if (localPort !== undefined) return `knetlab exec ${shown} -- curl --local-port ${localPort} ${url}`;
    return `knetlab curl --from ${shown} ${to}${count > 1 ? ` -n ${count}` : ''}`;
  }
  if ('answer' in step) {
    const value = await expandPlaceholders(lab, step.answer.value, 'default', memory);
    state.answers[step.answer.quiz] = value;
    return `knetlab scenario answer ${scenario.id} ${step.answer.quiz} ${value}`;
  }
  if ('cli' in step) {
    const args = step.cli;
    // The student's own command, on this lab: KNETLAB_LAB names it (every command reads it, as --lab).
    const r = await execa(process.execPath, [knetlabBin(), ...args], { reject: false, env: { KNETLAB_LAB: lab }, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new KnetlabError(`\`knetlab ${args.join(' ')}\` failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
    return `knetlab ${args.join(' ')}`;
  }
  if ('up' in step) {
    const { file, loaded } = scenarioConfigFile(scenario, step.up.config);
    await withLabLock(lab, () => ensureLab(lab, loaded.config));
    return `knetlab up -c ${file}`;
  }
  const { timeout = DEFAULT_WAIT_SECONDS, ...condition } = step.wait;
  if ('check' in condition) {
    const name = condition.check as string;
    await pollUntil(`check ${name}`, timeout, () => evaluateNamedCheck(lab, scenario, state, name));
    return `(waited for check ${name})`;
  }
  const kind = PREDICATE_KINDS.find((k) => k in condition)!;
  await pollUntil(kind, timeout, () => evaluatePredicate(lab, kind, (condition as Predicates)[kind as PredicateKind], memory));
  return `(waited: ${kind} ${JSON.stringify((condition as Predicates)[kind])})`;
}

export async function runSteps(lab: string, scenario: Scenario, state: ScenarioState, steps: Step[]): Promise<string[]> {
  const done: string[] = [];
  for (const step of steps) done.push(await runStep(lab, scenario, state, step));
  return done;
}
