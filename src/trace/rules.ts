// The temporary rules that make the kernel trace one connection. iptables-nft's TRACE target sets
// `meta nftrace`; every hook and chain the packet then crosses reports to `nft monitor trace`.
// They go in mangle PREROUTING and OUTPUT, which run after conntrack (priority -200) and before
// nat (-100), so `-m conntrack --ctorigsrc CLIENT --ctorigsrcport PORT` picks out the request
// and its replies (even masqueraded ones: conntrack knows the original tuple) and the nat chains
// after it are traced too. `meta nftrace` is a flag on the packet, seen by every table: in
// kube-proxy's nftables mode the same rules trace `table ip kube-proxy`, whose base chains run
// after mangle (priority -110 and up), so its services, service- and endpoint- chains show too.
//
// A masqueraded request reaches the next node with a new source (the first node's address and a
// random port), so there the first rule cannot see it: a second rule per endpoint hosted on the
// node traces connections to that endpoint from outside the node's pod CIDR (which leaves out the
// node's own readiness probes). The report keeps only the packets of the traced connection.
//
// Each rule carries `-m comment --comment "knetlab trace ID until EPOCH"`: the comment survives
// iptables-nft's round trip (`iptables -S` prints it back), so rules are found again by it, and a
// sweep removes the expired ones that a killed trace left behind.
import { randomBytes } from 'node:crypto';
import { run } from '../kernel/exec.js';
import { tokenize } from '../proxy/iptables-save.js';
import type { TraceEndpoint, TraceNode, TraceProtocol } from './types.js';

export const TRACE_COMMENT_PREFIX = 'knetlab trace';
/** Rules older than this are fair game for the sweep, whoever made them. */
export const TRACE_RULE_TTL_SECONDS = 60;

export interface TraceRuleSet {
  id: string;
  /** Unix seconds after which a sweep removes the rules. */
  until: number;
  /** The iptables-restore lines (`-I CHAIN 1 ...`) per node. */
  byNode: Map<string, string[]>;
}

export interface TraceRuleInput {
  protocol: TraceProtocol;
  client: { ip: string; port: number };
  endpoints: TraceEndpoint[];
  now?: number;
}

export function newTraceId(): string {
  return randomBytes(4).toString('hex');
}

/** The rules for one trace, per node. Pure. */
export function traceRules(nodes: TraceNode[], input: TraceRuleInput, id = newTraceId()): TraceRuleSet {
  const until = Math.floor((input.now ?? Date.now()) / 1000) + TRACE_RULE_TTL_SECONDS;
  const tail = ['-m', 'comment', '--comment', `"${TRACE_COMMENT_PREFIX} ${id} until ${until}"`, '-j', 'TRACE'];
  const p = input.protocol;
  const byNode = new Map<string, string[]>();
  for (const node of nodes) {
    const matches = [[`-m conntrack --ctproto ${p} --ctorigsrc ${input.client.ip} --ctorigsrcport ${input.client.port}`]];
    for (const e of input.endpoints) {
      if (e.node && e.node !== node.name) continue;
      const outside = node.podCIDR ? ` ! --ctorigsrc ${node.podCIDR}` : '';
      matches.push([`-p ${p} -m conntrack --ctorigdst ${e.ip} --ctorigdstport ${e.port}${outside}`]);
    }
    const unique = [...new Set(matches.map((m) => m.join(' ')))];
    byNode.set(
      node.name,
      ['PREROUTING', 'OUTPUT'].flatMap((chain) => unique.map((m) => `-I ${chain} 1 ${m} ${tail.join(' ')}`)),
    );
  }
  return { id, until, byNode };
}

/** Adds the rules in every node, each node in one iptables-restore transaction. */
export async function insertTraceRules(nodes: TraceNode[], rules: TraceRuleSet): Promise<void> {
  await Promise.all(
    nodes.map((n) => run(['ip', 'netns', 'exec', n.netns, 'iptables-restore', '--noflush'], { input: `*mangle\n${(rules.byNode.get(n.name) ?? []).join('\n')}\nCOMMIT\n` })),
  );
}

/** The trace id and expiry in an `iptables -S` line, when it is one of ours. */
export function parseTraceRule(line: string): { id: string; until: number } | undefined {
  const m = /--comment "?knetlab trace (\S+) until (\d+)"?/.exec(line);
  if (!m || !/-j TRACE\b/.test(line)) return undefined;
  return { id: m[1]!, until: Number(m[2]) };
}

/** Of `iptables -t mangle -S` output, the lines to delete (as `-D` lines for iptables-restore). */
export function selectTraceRules(listing: string, pick: (rule: { id: string; until: number }) => boolean): string[] {
  return listing
    .split('\n')
    .filter((line) => line.startsWith('-A '))
    .filter((line) => {
      const rule = parseTraceRule(line);
      return rule !== undefined && pick(rule);
    })
    .map((line) => `-D ${line.slice(3)}`);
}

/** Removes the TRACE rules `pick` chooses from one node; returns how many it removed. */
async function removeFrom(node: TraceNode, pick: (rule: { id: string; until: number }) => boolean): Promise<number> {
  const listing = await run(['ip', 'netns', 'exec', node.netns, 'iptables', '-t', 'mangle', '-S'], { allowFailure: true });
  if (listing.exitCode !== 0) return 0; // the node is gone: so are its rules
  const deletes = selectTraceRules(listing.stdout, pick);
  if (!deletes.length) return 0;
  const r = await run(['ip', 'netns', 'exec', node.netns, 'iptables-restore', '--noflush'], { input: `*mangle\n${deletes.join('\n')}\nCOMMIT\n`, allowFailure: true });
  if (r.exitCode === 0) return deletes.length;
  // Someone removed one of them meanwhile, which fails the whole transaction: one by one.
  let removed = 0;
  for (const d of deletes) {
    const one = await run(['ip', 'netns', 'exec', node.netns, 'iptables', '-t', 'mangle', ...tokenize(d)], { allowFailure: true });
    if (one.exitCode === 0) removed++;
  }
  return removed;
}

/**
 * Removes one trace's rules from every node: each node's `-D` lines in one iptables-restore, and,
 * should that fail (a rule already gone, or never added), by listing the node's rules.
 */
export async function removeTraceRules(nodes: TraceNode[], rules: TraceRuleSet): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      const deletes = (rules.byNode.get(n.name) ?? []).map((line) => line.replace(/^-I (\S+) 1 /, '-D $1 '));
      const r = await run(['ip', 'netns', 'exec', n.netns, 'iptables-restore', '--noflush'], { input: `*mangle\n${deletes.join('\n')}\nCOMMIT\n`, allowFailure: true });
      if (r.exitCode !== 0) await removeFrom(n, (rule) => rule.id === rules.id);
    }),
  );
}

/**
 * Removes leftover knetlab TRACE rules from every node: the expired ones, or with `all` every one.
 * For the agent to run when it starts (`all`) and every few seconds (expired only, so that a
 * trace in progress keeps its rules). Returns how many rules it removed per node.
 */
export async function sweepTraceRules(nodes: TraceNode[], options: { all?: boolean; now?: number } = {}): Promise<Record<string, number>> {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const counts = await Promise.all(nodes.map((n) => removeFrom(n, (r) => options.all === true || r.until < now)));
  return Object.fromEntries(nodes.map((n, i) => [n.name, counts[i]!]));
}
