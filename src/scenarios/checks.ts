// A scenario's checks, evaluated in order: the predicates of predicates.ts, the checks that
// compare with facts recorded at the start (a pod replaced by one with a new IP, a ClusterIP that
// stayed, the names a namespace held), and quiz answers. Also the waiting that setup and solve
// do: poll a predicate or a named check until it holds. Quiz answers are compared after one
// normalisation on both sides, so `NAT` matches `nat` and `cluster cidr` matches `clustercidr`;
// the author lists the forms that differ in more than that (`cluster-cidr`, `10.42.0.0/16`). A form
// may be `{{fact/NAME}}`: a value a setup step recorded, such as the pod that served a connection.
import { setTimeout as sleep } from 'node:timers/promises';
import { KnetlabError } from '../errors.js';
import type { Service } from '../api/types.js';
import { AgentClient } from '../client.js';
import { expandFacts, getService, podsMatching, type Memory } from './lab.js';
import { evaluatePredicate, type Verdict } from './predicates.js';
import { CHECK_KINDS, type Check, type CheckKind, type PredicateKind, type Predicates, type Quiz, type Text } from './schema.js';
import type { Scenario } from './load.js';
import type { ScenarioState } from './state.js';

export interface CheckResult {
  name: string;
  kind: CheckKind;
  passed: boolean;
  description: Text;
  /** What the check saw. */
  detail: Text;
  /** The scenario asks not to print the detail to the student (it would give the answer away). */
  hideDetail: boolean;
}

interface PodFact {
  pods: { name: string; ip: string }[];
}
interface ClusterIPFact {
  clusterIP: string | undefined;
}
interface NamesFact {
  pods: string[];
  services: string[];
}

const verdict = (passed: boolean, en: string, zh: string): Verdict => ({ passed, detail: { en, zh } });

export function checkKind(check: Check): CheckKind {
  return CHECK_KINDS.find((k) => k in check)!;
}

/** The pods and Services of a namespace, by name. */
async function namesIn(lab: string, namespace = 'default'): Promise<NamesFact> {
  const { items } = await new AgentClient(lab).get<{ items: Service[] }>(`/api/v1/namespaces/${namespace}/services`);
  return { pods: (await podsMatching(lab, '', namespace)).map((p) => p.metadata.name).sort(), services: items.map((s) => s.metadata.name).sort() };
}

/** The facts the stateful checks compare with, measured now (at the end of start's setup). */
export async function recordFacts(lab: string, checks: Check[]): Promise<Record<string, unknown>> {
  const facts: Record<string, unknown> = {};
  for (const c of checks) {
    if ('podIPChanged' in c) {
      const pods = await podsMatching(lab, c.podIPChanged.selector, c.podIPChanged.namespace);
      facts[c.name] = { pods: pods.flatMap((p) => (p.status?.podIP ? [{ name: p.metadata.name, ip: p.status.podIP }] : [])) } satisfies PodFact;
    }
    if ('clusterIPUnchanged' in c) facts[c.name] = { clusterIP: (await getService(lab, c.clusterIPUnchanged.service, c.clusterIPUnchanged.namespace))?.spec.clusterIP } satisfies ClusterIPFact;
    if ('namesKept' in c) facts[c.name] = (await namesIn(lab, c.namesKept.namespace)) satisfies NamesFact;
  }
  return facts;
}

async function evaluateOne(lab: string, scenario: Scenario, state: ScenarioState, check: Check): Promise<Verdict> {
  if ('quiz' in check) {
    const quiz = scenario.spec.quiz.find((q) => q.id === check.quiz)!;
    const answer = state.answers[check.quiz];
    if (answer === undefined) return verdict(false, `not answered yet: knetlab scenario answer ${scenario.id} ${quiz.id} ANSWER`, `还没有回答：knetlab scenario answer ${scenario.id} ${quiz.id} 答案`);
    return isAcceptedAnswer(quiz, answer, state) ? verdict(true, `answered "${answer}"`, `回答了 "${answer}"`) : verdict(false, `"${answer}" is not right yet`, `"${answer}" 还不对`);
  }
  if ('namesKept' in check) {
    const { namespace = 'default' } = check.namesKept;
    const before = state.facts[check.name] as NamesFact | undefined;
    if (!before) return verdict(false, 'no names were recorded at the start (start the scenario again)', '开始时没有记录名字（请重新开始这个场景）');
    const now = await namesIn(lab, namespace);
    const diff = (kind: 'pods' | 'services') => ({ gone: before[kind].filter((n) => !now[kind].includes(n)), added: now[kind].filter((n) => !before[kind].includes(n)) });
    const [pods, services] = [diff('pods'), diff('services')];
    const same = [pods, services].every((d) => d.gone.length === 0 && d.added.length === 0);
    const list = (xs: string[]) => xs.join(', ') || '-';
    if (same) return verdict(true, `the same names as at the start: pods ${list(now.pods)}; Services ${list(now.services)}`, `名字和开始时一样：pod ${list(now.pods)}；Service ${list(now.services)}`);
    const en = `names changed in ${namespace}: pods gone ${list(pods.gone)}, new ${list(pods.added)}; Services gone ${list(services.gone)}, new ${list(services.added)}`;
    const zh = `${namespace} 中的名字变了：消失的 pod ${list(pods.gone)}，新的 ${list(pods.added)}；消失的 Service ${list(services.gone)}，新的 ${list(services.added)}`;
    return verdict(false, en, zh);
  }
  if ('podIPChanged' in check) {
    const before = (state.facts[check.name] as PodFact | undefined)?.pods ?? [];
    const now = (await podsMatching(lab, check.podIPChanged.selector, check.podIPChanged.namespace)).filter((p) => p.status?.phase === 'Running' && p.status.podIP);
    const gone = before.filter((b) => !now.some((p) => p.metadata.name === b.name));
    const fresh = now.filter((p) => !before.some((b) => b.ip === p.status!.podIP));
    const list = (xs: { name: string; ip: string }[]) => xs.map((x) => `${x.name} ${x.ip}`).join(', ') || '-';
    const [goneText, freshText] = [list(gone), list(fresh.map((p) => ({ name: p.metadata.name, ip: p.status!.podIP! })))];
    if (gone.length && fresh.length) return verdict(true, `gone: ${goneText}; new: ${freshText}`, `消失的：${goneText}；新的：${freshText}`);
    return verdict(false, `the pods are still those of the start (${list(before)}); gone: ${goneText}; new: ${freshText}`, `pod 仍是开始时的那些（${list(before)}）；消失的：${goneText}；新的：${freshText}`);
  }
  if ('clusterIPUnchanged' in check) {
    const { service, namespace = 'default' } = check.clusterIPUnchanged;
    const before = (state.facts[check.name] as ClusterIPFact | undefined)?.clusterIP;
    const now = (await getService(lab, service, namespace))?.spec.clusterIP;
    if (!now) return verdict(false, `service ${namespace}/${service} is gone (it had ${before})`, `Service ${namespace}/${service} 不见了（原来是 ${before}）`);
    return verdict(now === before, `ClusterIP of ${service}: ${now} (at the start: ${before})`, `${service} 的 ClusterIP：${now}（开始时：${before}）`);
  }
  const kind = checkKind(check) as PredicateKind;
  return evaluatePredicate(lab, kind, (check as unknown as Predicates)[kind], memoryOf(state));
}

export function memoryOf(state: ScenarioState): Memory {
  return { scenario: state.scenario, facts: state.facts, answers: state.answers };
}

/** Every check, in order (one at a time: a curl must not race a counter or a rule another reads). */
export async function evaluateChecks(lab: string, scenario: Scenario, state: ScenarioState): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of scenario.spec.checks) {
    const v = await evaluateOne(lab, scenario, state, check).catch((err: Error) => verdict(false, err.message, err.message));
    results.push({ name: check.name, kind: checkKind(check), passed: v.passed, description: describeCheck(scenario, check), detail: v.detail, hideDetail: check.hideDetail ?? false });
  }
  return results;
}

export function describeCheck(scenario: Scenario, check: Check): Text {
  if (check.description) return check.description;
  return 'quiz' in check ? (scenario.spec.quiz.find((q) => q.id === check.quiz)?.question ?? { en: check.quiz, zh: check.quiz }) : { en: check.name, zh: check.name };
}

/** Polls until `probe` passes; throws with its last detail after `seconds`. */
export async function pollUntil(what: string, seconds: number, probe: () => Promise<Verdict>): Promise<Verdict> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v.passed) return v;
    if (Date.now() >= deadline) throw new KnetlabError(`gave up waiting after ${seconds} s for ${what}: ${v.detail.en}`);
    await sleep(300);
  }
}

export function evaluateNamedCheck(lab: string, scenario: Scenario, state: ScenarioState, name: string): Promise<Verdict> {
  return evaluateOne(lab, scenario, state, scenario.spec.checks.find((c) => c.name === name)!);
}

/** Lower case, full-width forms folded (NFKC), no whitespace, no surrounding quotes or final full stop. */
export function normaliseAnswer(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, '')
    .replace(/[.。!]+$/, '')
    .replace(/^["'`“”‘’「」『』]+|["'`“”‘’「」『』]+$/g, '')
    .replace(/[.。!]+$/, '');
}

/**
 * Whether the answer is one of the quiz's forms. With `memory`, a form's {{fact/NAME}} stands for
 * the value recorded at the start (a form naming a fact that was not recorded accepts nothing);
 * without it, forms are compared as written.
 */
export function isAcceptedAnswer(quiz: Pick<Quiz, 'accept'>, answer: string | undefined, memory?: Pick<Memory, 'facts'>): boolean {
  if (answer === undefined) return false;
  const given = normaliseAnswer(answer);
  const forms = memory ? quiz.accept.flatMap((form) => expandFacts(form, memory) ?? []) : quiz.accept;
  return given !== '' && forms.some((form) => normaliseAnswer(form) === given);
}
