// What steps and checks ask of a running lab: objects from its agent, and the names scenarios
// use for places in it. A scenario cannot know the random names a Deployment gives its pods, so
// besides `pod/NAME` it may say `pod/app=web@agent-1` (the first pod, by name, with these labels
// on that node), and write `{{svc/web}}`, `{{pod/...}}` or `{{node/NAME}}` where an address goes.
// What the scenario remembers goes in the same way: `{{fact/NAME}}` (a value a setup step
// recorded, such as the pod that served a connection) and `{{answer/QUIZ}}` (the student's answer).
import type { Endpoints, Pod, Service } from '../api/types.js';
import { AgentClient, ApiStatusError } from '../client.js';
import { KnetlabError } from '../errors.js';
import { resolveTarget, type Target } from '../lifecycle/targets.js';
import { labStatus } from '../lifecycle/up.js';

export function parseSelector(text: string): Record<string, string> {
  if (text === '') return {};
  return Object.fromEntries(text.split(',').map((pair) => pair.split('=', 2) as [string, string]));
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Pods with these labels ('' for all) that are not being deleted, by name. */
export async function podsMatching(lab: string, selector: string, namespace = 'default'): Promise<Pod[]> {
  const { items } = await new AgentClient(lab).get<{ items: Pod[] }>(`/api/v1/namespaces/${namespace}/pods`);
  const wanted = parseSelector(selector);
  return items
    .filter((p) => !p.metadata.deletionTimestamp && matchesSelector(p.metadata.labels, wanted))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** `NAME`, or `LABEL=VALUE[,...][@NODE]`: the pod's name. */
export async function resolvePodName(lab: string, ref: string, namespace = 'default'): Promise<string> {
  if (!ref.includes('=')) return ref;
  const [selector, node] = ref.split('@', 2) as [string, string | undefined];
  const pod = (await podsMatching(lab, selector, namespace)).find((p) => node === undefined || p.spec.nodeName === node);
  if (!pod) throw new KnetlabError(`no pod with labels ${selector}${node ? ` on node ${node}` : ''} in namespace ${namespace}`);
  return pod.metadata.name;
}

/** lan, node/NAME, pod/NAME or pod/SELECTOR[@NODE], as a network namespace to run in. */
export async function resolveScenarioTarget(lab: string, target: string, namespace = 'default'): Promise<Target> {
  if (!target.startsWith('pod/')) return resolveTarget(lab, target, namespace);
  return resolveTarget(lab, `pod/${await resolvePodName(lab, target.slice(4), namespace)}`, namespace);
}

export async function getService(lab: string, name: string, namespace = 'default'): Promise<Service | undefined> {
  return getOrUndefined<Service>(lab, `/api/v1/namespaces/${namespace}/services/${name}`);
}

export async function getEndpoints(lab: string, name: string, namespace = 'default'): Promise<Endpoints | undefined> {
  return getOrUndefined<Endpoints>(lab, `/api/v1/namespaces/${namespace}/endpoints/${name}`);
}

async function getOrUndefined<T>(lab: string, path: string): Promise<T | undefined> {
  try {
    return await new AgentClient(lab).get<T>(path);
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 404) return undefined;
    throw err;
  }
}

const PLACEHOLDER = /\{\{\s*(svc|pod|node|fact|answer)\/([^}\s]+)\s*\}\}/g;
const FACT = /\{\{\s*fact\/([^}\s]+)\s*\}\}/g;

/** What a started scenario remembers that placeholders may name: recorded facts and the student's answers. */
export interface Memory {
  scenario: string;
  facts: Record<string, unknown>;
  answers: Record<string, string>;
}

/** The address a placeholder stands for: a Service's ClusterIP, a pod's IP, a node's LAN IP. */
export async function addressOf(lab: string, kind: string, ref: string, namespace = 'default'): Promise<string> {
  if (kind === 'svc') {
    const ip = (await getService(lab, ref, namespace))?.spec.clusterIP;
    if (!ip || ip === 'None') throw new KnetlabError(`service ${namespace}/${ref} has no ClusterIP (does it exist?)`);
    return ip;
  }
  if (kind === 'node') {
    const node = (await labStatus(lab)).nodes.find((n) => n.name === ref);
    if (!node) throw new KnetlabError(`lab "${lab}" has no node "${ref}"`);
    return node.ip;
  }
  const name = await resolvePodName(lab, ref, namespace);
  const pod = (await podsMatching(lab, '', namespace)).find((p) => p.metadata.name === name);
  const ip = pod?.status?.podIP;
  if (!ip) throw new KnetlabError(`pod ${namespace}/${name} has no IP`);
  return ip;
}

/** A recorded fact as text, or undefined when setup recorded no such value. */
export function factValue(memory: Pick<Memory, 'facts'> | undefined, name: string): string | undefined {
  const value = memory?.facts[name];
  return typeof value === 'string' ? value : undefined;
}

/** The student's answer as a placeholder value: trimmed, without surrounding quotes, one word. */
function answerValue(memory: Memory | undefined, quiz: string): string {
  const raw = memory?.answers[quiz];
  if (raw === undefined) throw new KnetlabError(`question ${quiz} is not answered yet: knetlab scenario answer ${memory?.scenario ?? 'SCENARIO'} ${quiz} ANSWER`);
  const value = raw.trim().replace(/^["'`“”‘’「」『』]+|["'`“”‘’「」『』]+$/g, '');
  if (!/^[A-Za-z0-9._:/-]+$/.test(value)) throw new KnetlabError(`the answer to ${quiz}, "${raw}", cannot be used here: one word (a name or an address) is needed`);
  return value;
}

/**
 * The text with every placeholder replaced: {{svc/...}}, {{pod/...}} and {{node/...}} by the
 * address from the lab, {{fact/NAME}} by a value recorded at the start and {{answer/QUIZ}} by
 * the student's answer (both need `memory`).
 */
export async function expandPlaceholders(lab: string, text: string, namespace = 'default', memory?: Memory): Promise<string> {
  const found = [...text.matchAll(PLACEHOLDER)];
  const values = await Promise.all(
    found.map(async (m) => {
      const [kind, ref] = [m[1]!, m[2]!];
      if (kind === 'fact') {
        const v = factValue(memory, ref);
        if (v === undefined) throw new KnetlabError(`no fact "${ref}" was recorded at the start (start the scenario again)`);
        return v;
      }
      if (kind === 'answer') return answerValue(memory, ref);
      return addressOf(lab, kind, ref, namespace);
    }),
  );
  let i = 0;
  return text.replace(PLACEHOLDER, () => values[i++]!);
}

/** The text with every {{fact/NAME}} replaced (synchronously, from memory alone); undefined when a fact is missing. */
export function expandFacts(text: string, memory: Pick<Memory, 'facts'> | undefined): string | undefined {
  let missing = false;
  const out = text.replace(FACT, (_, name: string) => factValue(memory, name) ?? ((missing = true), ''));
  return missing ? undefined : out;
}

/** The names of the facts a text refers to with {{fact/NAME}}. */
export function factsNamed(text: string): string[] {
  return [...text.matchAll(FACT)].map((m) => m[1]!);
}

/** The quiz ids a text refers to with {{answer/QUIZ}}. */
export function answersNamed(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].filter((m) => m[1] === 'answer').map((m) => m[2]!);
}

/** `svc/web` or `node/server` alone, as an address field may hold them, is a placeholder too. */
export function asAddressTemplate(text: string): string {
  return /^(svc|pod|node)\/\S+$/.test(text) ? `{{${text}}}` : text;
}
