// The predicates checks and `wait` steps are made of: each looks at the lab as it is right now,
// from the agent's objects (Endpoints, pods) or from the kernel itself (curl run inside a
// namespace, sysctl, iptables-save, ip addr), never from what the student typed. Each answers
// with passed and a detail, in English and Chinese, saying what it saw.
import type { Pod } from '../api/types.js';
import { AgentClient } from '../client.js';
import { podNetns } from '../dataplane/names.js';
import { run } from '../kernel/exec.js';
import { resolveUrl } from '../lifecycle/curl.js';
import { labStatus } from '../lifecycle/up.js';
import { asAddressTemplate, expandPlaceholders, getEndpoints, getService, podsMatching, resolveScenarioTarget } from './lab.js';
import type { PredicateKind, Predicates, Text } from './schema.js';

export interface Verdict {
  passed: boolean;
  detail: Text;
}

const verdict = (passed: boolean, en: string, zh: string): Verdict => ({ passed, detail: { en, zh } });
const failed = (err: unknown): Verdict => verdict(false, (err as Error).message, (err as Error).message);

type Evaluators = { [K in PredicateKind]: (lab: string, spec: Predicates[K]) => Promise<Verdict> };

export const PREDICATES: Evaluators = {
  async endpoints(lab, { service, namespace = 'default', ready, notReady }) {
    const ep = await getEndpoints(lab, service, namespace);
    // A Service that selects nothing may have no Endpoints object at all: that is zero endpoints.
    if (!ep && !(await getService(lab, service, namespace))) return verdict(false, `there is no Service ${namespace}/${service}`, `没有 Service ${namespace}/${service}`);
    const list = (key: 'addresses' | 'notReadyAddresses') => [...new Set((ep?.subsets ?? []).flatMap((s) => (s[key] ?? []).map((a) => a.ip)))];
    const [r, n] = [list('addresses'), list('notReadyAddresses')];
    const passed = r.length === ready && (notReady === undefined || n.length === notReady);
    const seen = `${r.length} ready (${r.join(', ') || '-'}), ${n.length} not ready (${n.join(', ') || '-'})`;
    const seenZh = `${r.length} 个就绪（${r.join(', ') || '-'}），${n.length} 个未就绪（${n.join(', ') || '-'}）`;
    const want = `${ready} ready${notReady === undefined ? '' : `, ${notReady} not ready`}`;
    const wantZh = `${ready} 个就绪${notReady === undefined ? '' : `、${notReady} 个未就绪`}`;
    return verdict(passed, `endpoints of ${service}: ${seen}; wanted ${want}`, `${service} 的 endpoints：${seenZh}；期望 ${wantZh}`);
  },

  async pods(lab, { selector, namespace = 'default', running, ready }) {
    const pods = await podsMatching(lab, selector, namespace);
    const r = pods.filter((p) => p.status?.phase === 'Running').length;
    const k = pods.filter(isReady).length;
    const passed = (running === undefined || r === running) && (ready === undefined || k === ready);
    return verdict(passed, `pods with ${selector}: ${r} running, ${k} ready`, `标签为 ${selector} 的 pod：${r} 个运行中，${k} 个就绪`);
  },

  async curl(lab, { from, to, namespace = 'default', tries, distinct, expect }) {
    const count = tries ?? (distinct ? distinct * 10 : 1);
    const parts: Verdict[] = [];
    for (const source of [from].flat()) {
      try {
        const target = await resolveScenarioTarget(lab, source, namespace);
        const url = await resolveUrl(lab, await expandPlaceholders(lab, to, namespace), namespace);
        parts.push(judgeCurl(source, url, await curlMany(target.netns, url, count), count, distinct, expect));
      } catch (err) {
        parts.push(verdict(false, `from ${source}: ${(err as Error).message}`, `从 ${source}：${(err as Error).message}`));
      }
    }
    return verdict(parts.every((p) => p.passed), parts.map((p) => p.detail.en).join('\n    '), parts.map((p) => p.detail.zh).join('\n    '));
  },

  async sysctl(lab, { node, key, value }) {
    const netns = await nodeNetns(lab, node);
    const r = await run(['ip', 'netns', 'exec', netns, 'sysctl', '-n', key], { allowFailure: true });
    const seen = r.exitCode === 0 ? r.stdout.trim() : `unreadable (${r.stderr.trim()})`;
    return verdict(seen === String(value), `${node}: ${key} = ${seen} (wanted ${value})`, `${node}：${key} = ${seen}（期望 ${value}）`);
  },

  async iptables(lab, { node, table, chain, contains, lacks, count }) {
    const nodes = (await labStatus(lab)).nodes.filter((n) => node === undefined || n.name === node);
    if (nodes.length === 0) return verdict(false, `lab "${lab}" has no node "${node}"`, `实验环境 "${lab}" 没有节点 "${node}"`);
    const pattern = await expandPlaceholders(lab, contains ?? lacks ?? '');
    const counts = await Promise.all(
      nodes.map(async (n) => {
        const { stdout } = await run(['ip', 'netns', 'exec', n.netns, 'iptables-save', '-t', table]);
        const rules = stdout.split('\n').filter((l) => l.startsWith(chain ? `-A ${chain} ` : '-A '));
        return rules.filter((l) => l.includes(pattern)).length;
      }),
    );
    const ok = (c: number) => (lacks !== undefined ? c === 0 : count === undefined ? c > 0 : c === count);
    const per = nodes.map((n, i) => `${n.name} ${counts[i]}`).join(', ');
    const where = `${table}${chain ? ` ${chain}` : ''}`;
    const want = lacks !== undefined ? 'none' : count === undefined ? 'at least 1' : `${count}`;
    const wantZh = lacks !== undefined ? '0 条' : count === undefined ? '至少 1 条' : `${count} 条`;
    return verdict(counts.every(ok), `rules in ${where} containing "${pattern}": ${per} (wanted ${want} on each)`, `${where} 中包含 "${pattern}" 的规则数：${per}（每个节点期望${wantZh}）`);
  },

  async address(lab, spec) {
    const ip = await expandPlaceholders(lab, asAddressTemplate(spec.address));
    const places = spec.in ? [{ name: spec.in, netns: (await resolveScenarioTarget(lab, spec.in)).netns }] : await everyNamespace(lab);
    const holders: string[] = [];
    await Promise.all(
      places.map(async (p) => {
        const { stdout } = await run(['ip', '-n', p.netns, '-o', '-4', 'addr', 'show'], { allowFailure: true });
        for (const line of stdout.split('\n')) if (line.includes(` inet ${ip}/`)) holders.push(`${line.split(/\s+/)[1]} of ${p.name}`);
      }),
    );
    const passed = holders.length > 0 === spec.present;
    if (holders.length) return verdict(passed, `${ip} is an address of ${holders.sort().join(', ')}`, `${ip} 是 ${holders.sort().join('、')} 的地址`);
    return verdict(passed, `no interface holds ${ip} (looked in ${places.length} namespaces)`, `没有任何网卡持有 ${ip}（查看了 ${places.length} 个网络命名空间）`);
  },
};

export function evaluatePredicate<K extends PredicateKind>(lab: string, kind: K, spec: Predicates[K]): Promise<Verdict> {
  return (PREDICATES[kind] as (lab: string, spec: Predicates[K]) => Promise<Verdict>)(lab, spec).catch(failed);
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function nodeNetns(lab: string, node: string): Promise<string> {
  const found = (await labStatus(lab)).nodes.find((n) => n.name === node);
  if (!found) throw new Error(`lab "${lab}" has no node "${node}"`);
  return found.netns;
}

/** Every node, every running pod (all namespaces) and the LAN machine. */
async function everyNamespace(lab: string): Promise<{ name: string; netns: string }[]> {
  const status = await labStatus(lab);
  const { items } = await new AgentClient(lab).get<{ items: Pod[] }>('/api/v1/pods');
  return [
    ...status.nodes.map((n) => ({ name: `node/${n.name}`, netns: n.netns })),
    ...items.filter((p) => p.status?.phase === 'Running').map((p) => ({ name: `pod/${p.metadata.name}`, netns: podNetns(lab, p.metadata.namespace ?? 'default', p.metadata.name) })),
    ...(status.lan ? [{ name: 'lan', netns: status.lan.netns }] : []),
  ];
}

interface CurlRun {
  answers: string[];
  exitCode: number;
  stderr: string;
}

/** `count` requests, each on a new connection; stops at the first failure so a dead Service costs one timeout. */
async function curlMany(netns: string, url: string, count: number): Promise<CurlRun> {
  const urls = Array.from({ length: count }, () => url);
  const argv = ['ip', 'netns', 'exec', netns, 'curl', '-sS', '--fail', '--fail-early', '--max-time', '3', '-H', 'Connection: close', '-w', '\\n', ...urls];
  const r = await run(argv, { allowFailure: true });
  return { answers: r.stdout.split('\n').filter(Boolean), exitCode: r.exitCode, stderr: r.stderr.trim() };
}

function judgeCurl(source: string, url: string, r: CurlRun, count: number, distinct?: number, expect?: string): Verdict {
  const tally = new Map<string, number>();
  for (const a of r.answers) tally.set(a, (tally.get(a) ?? 0) + 1);
  const who = [...tally].map(([a, n]) => `${a} ${n}`).join(', ');
  const answered = r.exitCode === 0 && r.answers.length === count;
  const passed = answered && (distinct === undefined || tally.size >= distinct) && (expect === undefined || r.answers.every((a) => a.includes(expect)));
  const error = r.exitCode === 0 ? '' : ` — ${r.stderr.split('\n').pop() || `curl exit ${r.exitCode}`}`;
  const wanted = distinct ? `; wanted ${distinct} different answers` : expect !== undefined ? `; wanted "${expect}" in each` : '';
  const wantedZh = distinct ? `；期望 ${distinct} 个不同的回答` : expect !== undefined ? `；期望每个回答都含 "${expect}"` : '';
  return verdict(passed, `from ${source} to ${url}: ${r.answers.length}/${count} answered${who ? ` (${who})` : ''}${error}${wanted}`, `从 ${source} 到 ${url}：${r.answers.length}/${count} 次有回答${who ? `（${who}）` : ''}${error}${wantedZh}`);
}
