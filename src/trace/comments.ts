// kube-proxy explains its rules in `-m comment --comment "default/web:http -> 10.42.2.2:8080"`,
// but iptables-nft stores that comment as an xtables match that `nft` cannot print, so the trace
// shows the rule without it. Each traced rule does come with its nft handle (`nft -a`), and
// `nft -a list ruleset` and `iptables-save` list a chain's rules in the same order: zipping the
// two listings chain by chain gives, for each handle, the rule as iptables prints it, comment and
// all. A chain whose two listings differ in length (a resync between them) is left out.
//
// In nftables mode kube-proxy's rules are nft's own and need no such zipping, but they carry no
// comment naming the Service either: their chain names do (`service-HASH-ns/name/proto/port`,
// `endpoint-HASH-ns/name/proto/port__ip/port`), and the hops get comments worded from them.
import { run } from '../kernel/exec.js';
import { parseIptablesSave } from '../proxy/iptables-save.js';
import { nftBinary } from '../proxy/nftables/index.js';
import { KUBE_PROXY_TABLE } from './parse.js';
import type { Hop, RuleInfo, TraceNode } from './types.js';

/** Rule handles per table and chain, in order, from `nft -a list ruleset` (family ip only). */
export function parseNftHandles(text: string): Map<string, Map<string, number[]>> {
  const tables = new Map<string, Map<string, number[]>>();
  let table: Map<string, number[]> | undefined;
  let chain: number[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) {
      table = t[1] === 'ip' ? new Map() : undefined;
      if (table) tables.set(t[2]!, table);
      chain = undefined;
      continue;
    }
    const c = /^chain (\S+) \{/.exec(line);
    if (c) {
      chain = table ? [] : undefined;
      if (table && chain) table.set(c[1]!, chain);
      continue;
    }
    if (line === '}') {
      chain = undefined;
      continue;
    }
    const h = /# handle (\d+)$/.exec(line);
    if (h && chain && !/^(type|policy) /.test(line)) chain.push(Number(h[1]));
  }
  return tables;
}

const quote = (arg: string) => (/[\s"]/.test(arg) || arg === '' ? `"${arg.replace(/"/g, '\\"')}"` : arg);

/** The iptables rule (and comment) behind each nft handle of one node. Pure. */
export function mapHandles(node: string, nftText: string, iptablesSave: string): RuleInfo[] {
  const handles = parseNftHandles(nftText);
  let rules: ReturnType<typeof parseIptablesSave>;
  try {
    rules = parseIptablesSave(iptablesSave);
  } catch {
    return []; // a listing the model cannot follow: the trace just goes without comments
  }
  const out: RuleInfo[] = [];
  for (const [tableName, chains] of handles) {
    const table = rules.get(tableName);
    if (!table) continue;
    for (const [chainName, list] of chains) {
      const parsed = table.get(chainName)?.rules ?? [];
      if (parsed.length !== list.length) continue;
      list.forEach((handle, i) => {
        const args = parsed[i]!.args;
        const info: RuleInfo = { node, table: tableName, chain: chainName, handle, rule: `-A ${chainName} ${args.map(quote).join(' ')}` };
        const c = args.indexOf('--comment');
        if (c !== -1 && args[c + 1] !== undefined) info.comment = args[c + 1];
        out.push(info);
      });
    }
  }
  return out;
}

/** Reads both listings in a node and keeps the rules whose handles the trace mentions. */
export async function readRuleInfo(node: TraceNode, wanted: (table: string, handle: number) => boolean): Promise<RuleInfo[]> {
  const [nft, save] = await Promise.all([
    run(['ip', 'netns', 'exec', node.netns, nftBinary(), '-a', 'list', 'ruleset'], { allowFailure: true }),
    run(['ip', 'netns', 'exec', node.netns, 'iptables-save'], { allowFailure: true }),
  ]);
  if (nft.exitCode !== 0 || save.exitCode !== 0) return [];
  return mapHandles(node.name, nft.stdout, save.stdout).filter((r) => wanted(r.table, r.handle));
}

/**
 * Fills in each hop's comment and iptables form from the rules read for its node. A rule added
 * after the monitor started (a kube-proxy sync during the trace) is only an `unknown rule handle
 * N` to nft: then what it did is read from its iptables form. Hops in kube-proxy's nftables
 * table get theirs from its chain names (annotateKubeProxyHops). Pure.
 */
export function annotateHops(node: string, hops: Hop[], rules: RuleInfo[]): void {
  for (const hop of hops) {
    if (hop.handle === undefined) continue;
    const info = rules.find((r) => r.node === node && r.table === hop.table && r.handle === hop.handle && r.chain === hop.chain);
    if (!info) continue;
    hop.iptables = info.rule;
    if (info.comment !== undefined) hop.comment = info.comment;
    if (!hop.nat) {
      const nat = natOfIptables(info.rule);
      if (nat) hop.nat = nat;
    }
  }
  annotateKubeProxyHops(hops);
}

/**
 * Comments for the hops in kube-proxy's nftables table, from the chain names: a jump or goto to a
 * Service's chain names that chain, any other rule of a Service's chain names its own. The
 * lookup in @no-endpoint-services (or -nodeports) that sends the packet to reject-chain, and the
 * reject there, say why. A rule's own nft comment is kept. Pure.
 */
export function annotateKubeProxyHops(hops: Hop[]): void {
  let rejectReason: string | undefined;
  for (const hop of hops) {
    if (hop.table !== KUBE_PROXY_TABLE) continue;
    const noEndpoints = /\bvmap @(no-endpoint-\S+)/.exec(hop.rule ?? '')?.[1];
    if (noEndpoints && hop.verdict.startsWith('goto ')) rejectReason = `@${noEndpoints}: the Service port has no endpoints`;
    if (hop.comment !== undefined) continue;
    const target = /^(?:jump|goto) (\S+)$/.exec(hop.verdict)?.[1];
    const rejecting = noEndpoints !== undefined || hop.nat?.kind === 'reject';
    const comment = (target ? serviceChainComment(target) : undefined) ?? serviceChainComment(hop.chain) ?? (rejecting ? rejectReason : undefined);
    if (comment) hop.comment = comment;
  }
}

const SERVICE_CHAIN = /^(service|external|local|firewall|endpoint)-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/[a-z]+\/([^_/]*)(?:__(.+)\/(\d+))?$/;
const KIND_WORDS: Record<string, string> = { service: '', external: ' (external traffic)', local: ' (node-local endpoints)', firewall: ' (firewall)' };

/** `default/web:http` for `service-SUSTUHLJ-default/web/tcp/http`, `default/web:http -> 10.42.1.3:8080` for its endpoint chain. */
export function serviceChainComment(chain: string): string | undefined {
  const m = SERVICE_CHAIN.exec(chain);
  if (!m) return undefined;
  const [, kind, namespace, name, portName, ip, port] = m as unknown as [string, string, string, string, string, string | undefined, string | undefined];
  const servicePort = `${namespace}/${name}${portName ? `:${portName}` : ''}`;
  return kind === 'endpoint' ? `${servicePort} -> ${ip}:${port}` : `${servicePort}${KIND_WORDS[kind]}`;
}

/** What an iptables rule's target does to the packet (see natOf for nft's wording). */
export function natOfIptables(rule: string): Hop['nat'] {
  const to = /--to-(?:destination|source) (\S+)/.exec(rule)?.[1];
  if (/-j DNAT\b/.test(rule)) return to ? { kind: 'dnat', to } : { kind: 'dnat' };
  if (/-j SNAT\b/.test(rule)) return to ? { kind: 'snat', to } : { kind: 'snat' };
  if (/-j MASQUERADE\b/.test(rule)) return { kind: 'masquerade' };
  if (/-j REJECT\b/.test(rule)) return { kind: 'reject' };
  if (/-j MARK --set-xmark 0x4000\/0x4000\b/.test(rule)) return { kind: 'mark-masq' };
  return undefined;
}
