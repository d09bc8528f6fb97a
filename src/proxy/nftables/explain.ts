// `knetlab explain svc/NAME` in nftables mode: the path a Service's packets take through one
// node's `table ip kube-proxy`, as the same tree iptables mode gives (../explain.ts). The roots are
// the Service's elements in the dispatch maps: @service-ips for its ClusterIP ports and
// @service-nodeports for its NodePorts (both consulted by the `services` chain), and for a port
// without endpoints @no-endpoint-services / @no-endpoint-nodeports, whose verdict goes to
// reject-chain. Below a root are the rules of the chain its verdict goes to: the masquerade
// mark, the affinity lookups, and `numgen random mod N vmap`, whose N branches each take 1/N of
// the traffic into an endpoint chain, which ends in `dnat to IP:PORT`. kube-proxy writes no
// counters into its nftables rules, so the tree has none. Pure: it gets the parsed
// `nft -j list table` and returns the tree.
import type { ExplainNode, ServiceRef } from '../explain.js';
import { printElement, printRule, printValue, verdictTarget, type NftListing, type NftRule } from './listing.js';
import { isAffinitySetName, isServiceChainName } from './names.js';
import { CHAIN } from './setup.js';

/** The dispatch maps, in the order a packet meets them, and which of a Service's keys each holds. */
const ROOTS: readonly { map: string; key: 'clusterIP' | 'nodePort' }[] = [
  { map: 'service-ips', key: 'clusterIP' },
  { map: 'service-nodeports', key: 'nodePort' },
  { map: 'no-endpoint-services', key: 'clusterIP' },
  { map: 'no-endpoint-nodeports', key: 'nodePort' },
];

export function explainNftService(listing: NftListing, service: ServiceRef): ExplainNode[] {
  const roots: ExplainNode[] = [];
  for (const { map, key } of ROOTS) {
    const chain = chainConsulting(listing, map);
    for (const element of listing.maps.get(map) ?? []) {
      const parts = element.key.split(' . ');
      const ours = key === 'clusterIP' ? service.clusterIP !== undefined && parts[0] === service.clusterIP : parts.length === 2 && service.nodePorts.includes(Number(parts[1]));
      if (!ours) continue;
      const target = /^(?:jump|goto) (\S+)$/.exec(element.value)?.[1];
      roots.push({ chain, rule: `@${map} { ${printElement(element)} }`, children: target ? walk(listing, target, new Set()) : [] });
    }
  }
  return roots;
}

/** The chain whose `vmap @MAP` looks the map up (`services` for @service-ips). */
function chainConsulting(listing: NftListing, map: string): string {
  for (const [chain, rules] of listing.chains) {
    if (rules.some((r) => r.expr.some((e) => (e as { vmap?: { data: unknown } }).vmap?.data === `@${map}`))) return chain;
  }
  return `@${map}`;
}

/** Only a Service's own chains and reject-chain are followed: mark-for-masquerade only marks. */
const walked = (chain: string) => isServiceChainName(chain) || chain === CHAIN.reject;

function walk(listing: NftListing, chain: string, seen: Set<string>): ExplainNode[] {
  if (!walked(chain) || seen.has(chain)) return [];
  const rules = listing.chains.get(chain);
  if (!rules) return [{ chain, rule: '(chain missing from the table)', children: [] }];
  seen.add(chain);
  const children = rules.map((rule) => describe(listing, rule, seen));
  seen.delete(chain);
  return children;
}

function describe(listing: NftListing, rule: NftRule, seen: Set<string>): ExplainNode {
  const spread = numgenSpread(rule);
  if (spread) {
    const branches = spread.branches.map(([value, verdict]): ExplainNode => {
      const target = verdictTarget(verdict);
      return {
        chain: rule.chain,
        rule: `${printValue(value)} : ${printValue(verdict)}`,
        share: 1 / spread.mod,
        draw: `numgen random mod ${spread.mod} = ${printValue(value)}`,
        children: target ? walk(listing, target.target, seen) : [],
      };
    });
    return { chain: rule.chain, rule: `numgen random mod ${spread.mod} vmap`, children: branches };
  }
  const node: ExplainNode = { chain: rule.chain, rule: printRule(rule) + gloss(rule), children: [] };
  const dnat = rule.expr.map((e) => (e as { dnat?: { addr: string; port?: number } }).dnat).find((d) => d !== undefined);
  if (dnat) node.dnat = dnat.port === undefined ? dnat.addr : `${dnat.addr}:${dnat.port}`;
  const target = rule.expr.map(verdictTarget).find((v) => v !== undefined);
  if (target) node.children = walk(listing, target.target, seen);
  return node;
}

/** `numgen random mod N vmap { 0 : goto A, 1 : goto B, ... }`: N and the branches. */
function numgenSpread(rule: NftRule): { mod: number; branches: [unknown, unknown][] } | undefined {
  for (const e of rule.expr) {
    const vmap = (e as { vmap?: { key: { numgen?: { mod: number } }; data: { set?: [unknown, unknown][] } } }).vmap;
    if (vmap?.key.numgen && vmap.data.set) return { mod: vmap.key.numgen.mod, branches: vmap.data.set };
  }
  return undefined;
}

/** Words for what nft's text leaves to the reader: the two halves of session affinity. */
function gloss(rule: NftRule): string {
  const isAffinitySet = (ref: unknown) => typeof ref === 'string' && isAffinitySetName(ref.replace(/^@/, ''));
  for (const e of rule.expr) {
    if (isAffinitySet((e as { match?: { right: unknown } }).match?.right)) return '  (affinity: a client seen within the timeout)';
    if (isAffinitySet((e as { set?: { set: unknown } }).set?.set)) return '  (affinity: remember the client)';
  }
  return '';
}
