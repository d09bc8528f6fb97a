// `knetlab explain svc/NAME`: the path a Service's packets take through one node's nat table, as a
// tree from KUBE-SERVICES (and KUBE-NODEPORTS) down to each DNAT, read from the node's live rules
// with their packet counters, and with each branch's share of the traffic worked out from the
// chain of `statistic` probabilities (1/3, then 1/2 of the rest, then the rest). Pure: it gets the
// parsed iptables-save text and returns the tree.
import type { ParsedRule, Ruleset } from './iptables-save.js';
import { parseRuleArgs, type RuleSpec } from './rule-spec.js';

export interface ExplainNode {
  chain?: string;
  /** What the rule matches and does, in words close to the rule's own. */
  rule: string;
  packets?: number;
  /** Share of the traffic entering the parent chain that takes this branch (statistic chains). */
  share?: number;
  /** The rule's own `--probability`: of what is left after the branches above it. */
  probability?: number;
  /** How the share is drawn when not by a probability: nftables' `numgen random mod 3 = 0`. */
  draw?: string;
  dnat?: string;
  children: ExplainNode[];
}

const WALKED = /^KUBE-(SVC|SVL|EXT|SEP|FW)-/;

export interface ServiceRef {
  clusterIP?: string;
  nodePorts: number[];
}

/** Entry rules for the Service in KUBE-SERVICES and KUBE-NODEPORTS (nat), and REJECTs in filter. */
export function explainService(rules: Ruleset, service: ServiceRef): ExplainNode[] {
  const nat = rules.get('nat');
  const filter = rules.get('filter');
  const roots: ExplainNode[] = [];
  const entries = (table: typeof nat, chain: string, pick: (s: RuleSpec) => boolean) => (table?.get(chain)?.rules ?? []).filter((r) => pick(parseRuleArgs(r.args)));
  const toIP = (s: RuleSpec) => !!service.clusterIP && s.destination?.value.replace(/\/32$/, '') === service.clusterIP;
  const toNodePort = (s: RuleSpec) => s.matches.some((m) => m.options.some((o) => o.name === '--dport' && service.nodePorts.includes(Number(o.values[0]))));
  for (const [label, table, chain, pick] of [
    ['nat', nat, 'KUBE-SERVICES', toIP],
    ['nat', nat, 'KUBE-NODEPORTS', toNodePort],
    ['filter', filter, 'KUBE-SERVICES', toIP],
    ['filter', filter, 'KUBE-EXTERNAL-SERVICES', toNodePort],
  ] as const) {
    for (const r of entries(table, chain, pick)) roots.push({ chain: `${label} ${chain}`, ...describe(r), children: walk(rules, r, new Set()) });
  }
  return roots;
}

function walk(rules: Ruleset, rule: ParsedRule, seen: Set<string>): ExplainNode[] {
  const target = parseRuleArgs(rule.args).target?.name;
  if (!target || !WALKED.test(target) || seen.has(target)) return [];
  seen.add(target);
  const chain = rules.get('nat')?.get(target);
  if (!chain) return [{ chain: target, rule: '(chain missing from the table)', children: [] }];
  let remaining = 1;
  const children = chain.rules.map((r): ExplainNode => {
    const node: ExplainNode = { chain: target, ...describe(r), children: walk(rules, r, seen) };
    const spec = parseRuleArgs(r.args);
    const probability = spec.matches.find((m) => m.name === 'statistic')?.options.find((o) => o.name === '--probability')?.values[0];
    // In a KUBE-SVC/SVL chain the endpoint jumps split the traffic; affinity (`recent`) rules
    // come first and only catch returning clients, so they take no share.
    const splits = /^KUBE-SV[CL]-/.test(target) && /^KUBE-SEP-/.test(spec.target?.name ?? '') && !spec.matches.some((m) => m.name === 'recent');
    if (splits && probability !== undefined) {
      node.probability = Number(probability);
      node.share = remaining * Number(probability);
      remaining -= node.share;
    } else if (splits) {
      node.share = remaining;
      remaining = 0;
    }
    return node;
  });
  seen.delete(target);
  return children;
}

function describe(rule: ParsedRule): Pick<ExplainNode, 'rule' | 'packets' | 'dnat'> {
  const spec = parseRuleArgs(rule.args);
  const words: string[] = [];
  const neg = (n: { negated: boolean }) => (n.negated ? 'not ' : '');
  if (spec.source) words.push(`from ${neg(spec.source)}${spec.source.value}`);
  if (spec.destination) words.push(`to ${neg(spec.destination)}${spec.destination.value}`);
  if (spec.protocol) words.push(spec.protocol.value);
  for (const m of spec.matches) {
    for (const o of m.options) {
      if (o.name === '--dport') words.push(`port ${o.values[0]}`);
      if (o.name === '--dst-type') words.push(`to a local address`);
      if (o.name === '--rcheck') words.push('if the client was here recently (affinity)');
      if (o.name === '--set' && m.name === 'recent') words.push('remember the client (affinity)');
    }
  }
  const target = spec.target;
  const dnat = target?.name === 'DNAT' ? target.options.find((o) => o.name === '--to-destination')?.values[0] : undefined;
  const comment = spec.matches.find((m) => m.name === 'comment')?.options[0]?.values[0];
  const action = target ? (target.goto ? `goto ${target.name}` : `-> ${target.name}`) : '';
  const text = [words.join(' '), action, dnat ? dnat : '', comment ? `"${comment}"` : ''].filter(Boolean).join('  ');
  return { rule: text, packets: rule.counters?.packets, ...(dnat ? { dnat } : {}) };
}

/** The tree as text, one rule per line, with shares, and counters where the rules have them. */
export function formatExplain(roots: ExplainNode[]): string {
  const lines: string[] = [];
  const visit = (n: ExplainNode, prefix: string, last: boolean, top: boolean) => {
    const rest = n.probability !== undefined ? `p=${n.probability.toFixed(4)} of the rest` : (n.draw ?? 'the rest');
    const share = n.share !== undefined ? `${(n.share * 100).toFixed(1)}% (${rest})  ` : '';
    const packets = n.packets !== undefined ? `   [${n.packets} pkts]` : '';
    const head = top ? `${n.chain}: ` : '';
    lines.push(`${prefix}${top ? '' : last ? '└─ ' : '├─ '}${head}${share}${n.rule}${packets}`);
    const childPrefix = top ? '  ' : prefix + (last ? '   ' : '│  ');
    n.children.forEach((c, i) => visit(c, childPrefix, i === n.children.length - 1, false));
  };
  roots.forEach((r) => visit(r, '', true, true));
  return lines.join('\n');
}
