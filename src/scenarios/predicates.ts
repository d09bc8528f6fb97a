// The predicates checks and `wait` steps are made of: each looks at the lab as it is right now,
// from the agent's objects (Endpoints, pods) or from the kernel itself (curl run inside a
// namespace, sysctl, iptables-save, nft list table, ip addr), never from what the student typed.
// (A check may try a name the student answered, `{{answer/QUIZ}}`: the kernel still decides
// whether it works.)
// Each answers with passed and a detail, in English and Chinese, saying what it saw.
import type { Pod } from '../api/types.js';
import { AgentClient } from '../client.js';
import { podNetns } from '../dataplane/names.js';
import { run } from '../kernel/exec.js';
import { resolveUrl } from '../lifecycle/curl.js';
import { labStatus } from '../lifecycle/up.js';
import { contains as cidrContains, parseCidr } from '../ipam/cidr.js';
import { NFT_TABLE, nftBinary } from '../proxy/nftables/index.js';
import { asAddressTemplate, expandPlaceholders, getEndpoints, getService, matchesSelector, parseSelector, podsMatching, resolveScenarioTarget, type Memory } from './lab.js';
import type { PredicateKind, Predicates, Text } from './schema.js';

export interface Verdict {
  passed: boolean;
  detail: Text;
}

const verdict = (passed: boolean, en: string, zh: string): Verdict => ({ passed, detail: { en, zh } });
const failed = (err: unknown): Verdict => verdict(false, (err as Error).message, (err as Error).message);

/** `memory` (facts recorded at the start, the student's answers) is there when a scenario runs; placeholders may name it. */
type Evaluators = { [K in PredicateKind]: (lab: string, spec: Predicates[K], memory?: Memory) => Promise<Verdict> };

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

  async curl(lab, { from, to, namespace = 'default', tries, distinct, expect }, memory) {
    const count = tries ?? (distinct ? distinct * 10 : 1);
    const parts: Verdict[] = [];
    for (const source of [from].flat()) {
      try {
        const target = await resolveScenarioTarget(lab, source, namespace);
        const url = await resolveUrl(lab, await expandPlaceholders(lab, to, namespace, memory), namespace);
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

  async iptables(lab, { node, table, chain, contains, lacks, count }, memory) {
    const nodes = (await labStatus(lab)).nodes.filter((n) => node === undefined || n.name === node);
    if (nodes.length === 0) return verdict(false, `lab "${lab}" has no node "${node}"`, `实验环境 "${lab}" 没有节点 "${node}"`);
    const pattern = await expandPlaceholders(lab, contains ?? lacks ?? '', 'default', memory);
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

  async nftables(lab, { node, contains, lacks, count }, memory) {
    const nodes = (await labStatus(lab)).nodes.filter((n) => node === undefined || n.name === node);
    if (nodes.length === 0) return verdict(false, `lab "${lab}" has no node "${node}"`, `实验环境 "${lab}" 没有节点 "${node}"`);
    const pattern = await expandPlaceholders(lab, contains ?? lacks ?? '', 'default', memory);
    const seen = await Promise.all(
      nodes.map(async (n) => {
        const lines = await nftTableLines(n.netns);
        return { table: lines !== undefined, count: (lines ?? []).filter((l) => l.includes(pattern)).length };
      }),
    );
    const ok = (c: number) => (lacks !== undefined ? c === 0 : count === undefined ? c > 0 : c === count);
    const per = nodes.map((n, i) => `${n.name} ${seen[i]!.count}${seen[i]!.table ? '' : ' (no table)'}`).join(', ');
    const perZh = nodes.map((n, i) => `${n.name} ${seen[i]!.count}${seen[i]!.table ? '' : '（没有这张表）'}`).join(', ');
    const want = lacks !== undefined ? 'none' : count === undefined ? 'at least 1' : `${count}`;
    const wantZh = lacks !== undefined ? '0 行' : count === undefined ? '至少 1 行' : `${count} 行`;
    return verdict(
      seen.every((s) => ok(s.count)),
      `lines of table ${NFT_TABLE} containing "${pattern}": ${per} (wanted ${want} on each)`,
      `表 ${NFT_TABLE} 中包含 "${pattern}" 的行数：${perZh}（每个节点期望${wantZh}）`,
    );
  },

  async address(lab, spec, memory) {
    const ip = await expandPlaceholders(lab, asAddressTemplate(spec.address), 'default', memory);
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

  async podIPs(lab, { selector = '', namespace = 'default', within }) {
    const range = parseCidr(within);
    if (!range) return verdict(false, `"${within}" is not a CIDR`, `"${within}" 不是一个 CIDR`);
    const path = namespace === '*' ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`;
    const wanted = parseSelector(selector);
    const pods = (await new AgentClient(lab).get<{ items: Pod[] }>(path)).items
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && matchesSelector(p.metadata.labels, wanted))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const which = `${selector ? `pods with ${selector}` : 'pods'}${namespace === '*' ? '' : ` in ${namespace}`}`;
    const whichZh = `${namespace === '*' ? '' : `${namespace} 中`}${selector ? `标签为 ${selector} 的 ` : '的 '}pod`;
    if (pods.length === 0) return verdict(false, `no running ${which}`, `没有正在运行的${whichZh}`);
    // The agent's word (status.podIP) and the kernel's (an address of the pod's own namespace) must agree.
    const seen = await Promise.all(
      pods.map(async (p) => {
        const ns = p.metadata.namespace ?? 'default';
        const ip = p.status?.podIP ?? '';
        const { stdout } = await run(['ip', '-n', podNetns(lab, ns, p.metadata.name), '-o', '-4', 'addr', 'show'], { allowFailure: true });
        return { name: `${namespace === '*' ? `${ns}/` : ''}${p.metadata.name}`, ip, held: stdout.includes(` inet ${ip}/`), inside: ip !== '' && cidrContains(range, ip) };
      }),
    );
    const wrong = seen.filter((s) => !s.inside || !s.held);
    const list = (xs: typeof seen) => xs.map((s) => `${s.name} ${s.ip || '(no IP)'}${s.held ? '' : ' (not on its interface)'}`).join(', ');
    if (wrong.length === 0) return verdict(true, `all ${seen.length} running ${which} have IPs in ${within}: ${list(seen)}`, `全部 ${seen.length} 个运行中的${whichZh}的 IP 都在 ${within} 内：${list(seen)}`);
    return verdict(false, `${wrong.length} of ${seen.length} running ${which} are not in ${within}: ${list(wrong)}`, `${seen.length} 个运行中的${whichZh}里有 ${wrong.length} 个不在 ${within} 内：${list(wrong)}`);
  },

  async clusterIP(lab, { service, namespace = 'default', within }) {
    const range = parseCidr(within);
    if (!range) return verdict(false, `"${within}" is not a CIDR`, `"${within}" 不是一个 CIDR`);
    const ip = (await getService(lab, service, namespace))?.spec.clusterIP;
    if (!ip) return verdict(false, `there is no Service ${namespace}/${service}`, `没有 Service ${namespace}/${service}`);
    const inside = ip !== 'None' && cidrContains(range, ip);
    return verdict(inside, `ClusterIP of ${service}: ${ip} (${inside ? 'inside' : 'outside'} ${within})`, `${service} 的 ClusterIP：${ip}（${inside ? '在' : '不在'} ${within} 内）`);
  },
};

export function evaluatePredicate<K extends PredicateKind>(lab: string, kind: K, spec: Predicates[K], memory?: Memory): Promise<Verdict> {
  return (PREDICATES[kind] as (lab: string, spec: Predicates[K], memory?: Memory) => Promise<Verdict>)(lab, spec, memory).catch(failed);
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function nodeNetns(lab: string, node: string): Promise<string> {
  const found = (await labStatus(lab)).nodes.find((n) => n.name === node);
  if (!found) throw new Error(`lab "${lab}" has no node "${node}"`);
  return found.netns;
}

/** The lines of `nft list table ip kube-proxy` in a node's namespace; undefined when the table does not exist. */
async function nftTableLines(netns: string): Promise<string[] | undefined> {
  const r = await run(['ip', 'netns', 'exec', netns, nftBinary(), 'list', 'table', ...NFT_TABLE.split(' ')], { allowFailure: true });
  if (r.exitCode !== 0) {
    if (/No such file or directory/.test(r.stderr)) return undefined;
    throw new Error(`nft list table ${NFT_TABLE} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
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
