// Reads what `nft -a monitor trace` prints, for example:
//
//   trace id d7d3d2dd ip nat PREROUTING packet: iif "cni0" ... ip saddr 10.42.0.3 ip daddr 10.43.39.238 ... tcp dport 80 tcp flags == syn ...
//   trace id d7d3d2dd ip nat KUBE-SERVICES rule meta l4proto tcp ip daddr 10.43.39.238  tcp dport 80 counter packets 0 bytes 0 jump KUBE-SVC-CDGG... # handle 123 (verdict jump KUBE-SVC-CDGG...)
//   trace id d7d3d2dd ip nat KUBE-SEP-EYTL... rule meta l4proto tcp   counter packets 0 bytes 0 dnat to 10.42.2.2:8080 # handle 174 (verdict accept)
//   trace id 30038e79 ip filter FORWARD policy accept
//
// and in kube-proxy's nftables mode, where the packet crosses `table ip kube-proxy`:
//
//   trace id 26c1f1fd ip kube-proxy nat-prerouting rule jump services # handle 40 (verdict jump services)
//   trace id 26c1f1fd ip kube-proxy services rule ip daddr . meta l4proto . th dport vmap @service-ips # handle 53 (verdict goto service-SUSTUHLJ-default/web/tcp/http)
//   trace id 26c1f1fd ip kube-proxy endpoint-3CMDTCLZ-default/web/tcp/http__10.42.1.3/8080 rule meta l4proto tcp dnat to 10.42.1.3:8080 # handle 91 (verdict accept)
//
// The kernel derives a trace id from the socket buffer's address and hash, so one id is not one
// packet: the same packet changes id between hooks (after NAT), and a later packet may reuse an
// id. What is reliable is that a `packet:` line opens each base-chain visit and the events of that
// visit carry its id. So lines become visits, and visits become packets by the IP header fields
// that no NAT rewrites (protocol, IP id, length, TCP flags) and by the order of the hooks; then
// orderPackets merges the nodes' packets into one time line.
import { NFT_BASE_CHAINS, NFT_TABLE } from '../proxy/nftables/index.js';
import type { Hop, HookVisit, MonitorLine, NatKind, NodePacket, PacketHeaders } from './types.js';

const LINE = /^trace id (\S+) (\S+) (\S+) (\S+) (.*)$/;

/** Splits each node's monitor lines into packets; the result keeps every node's own order. */
export function parseMonitorLines(lines: MonitorLine[]): NodePacket[] {
  const byNode = new Map<string, MonitorLine[]>();
  for (const l of lines) byNode.set(l.node, [...(byNode.get(l.node) ?? []), l]);
  return [...byNode].flatMap(([node, own]) => groupVisits(node, own));
}

interface TimedVisit {
  visit: HookVisit;
  t: number;
}

function groupVisits(node: string, lines: MonitorLine[]): NodePacket[] {
  const visits: TimedVisit[] = [];
  const open = new Map<string, HookVisit>();
  for (const { line, t } of lines) {
    const m = LINE.exec(line.trimEnd());
    if (!m) continue;
    const [, traceId, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string];
    if (rest.startsWith('packet: ')) {
      const visit: HookVisit = { traceId, family, table, chain, headers: parseHeaders(rest.slice(8)), hops: [] };
      open.set(`${traceId} ${table}`, visit);
      visits.push({ visit, t });
      continue;
    }
    const hop = parseHop(family, table, chain, rest);
    if (!hop) continue;
    let visit = open.get(`${traceId} ${table}`);
    if (!visit) {
      // An event whose `packet:` line was not seen (the monitor started late): keep it anyway.
      visit = { traceId, family, table, chain, hops: [] };
      open.set(`${traceId} ${table}`, visit);
      visits.push({ visit, t });
    }
    visit.hops.push(hop);
  }
  return joinVisits(node, visits);
}

/** Visits of one packet share its unchanging header fields and come in hook order. */
function joinVisits(node: string, visits: TimedVisit[]): NodePacket[] {
  const packets: NodePacket[] = [];
  for (const { visit, t } of visits) {
    const key = packetKey(visit.headers);
    const rank = hookRank(visit.table, visit.chain);
    // Look back a few packets only: interleaving is short, while keys (IP id 0) may repeat later.
    const candidate = packets
      .slice(-6)
      .reverse()
      .find((p) => {
        const last = p.visits[p.visits.length - 1]!;
        return key !== undefined && packetKey(p.visits[0]!.headers) === key && hookRank(last.table, last.chain) < rank;
      });
    if (candidate) candidate.visits.push(visit);
    else packets.push({ node, t, seq: packets.length, visits: [visit] });
  }
  return packets;
}

/** The fields of a packet that NAT and forwarding leave alone. */
export function packetKey(h: PacketHeaders | undefined): string | undefined {
  if (!h || h.ipId === undefined) return undefined;
  return `${h.protocol}/${h.ipId}/${h.length ?? ''}/${h.flags ?? ''}`;
}

const HOOK_RANK: Record<string, number> = { PREROUTING: 0, OUTPUT: 0, INPUT: 1, FORWARD: 1, POSTROUTING: 2 };
const TABLE_PRIORITY: Record<string, number> = { raw: -300, mangle: -150, nat: -100, filter: 0, security: 50 };

/** kube-proxy's nftables table (`ip kube-proxy`), whose base chains are named for their type and hook. */
export const KUBE_PROXY_TABLE = NFT_TABLE.split(' ')[1]!;
const KUBE_PROXY_BASE_CHAINS = new Map(NFT_BASE_CHAINS.map((c) => [c.name, c]));

export interface BaseChain {
  /** PREROUTING, INPUT, FORWARD, OUTPUT or POSTROUTING. */
  hook: string;
  priority: number;
  /** A nat-type chain: only a connection's first packet crosses it. */
  nat: boolean;
}

/**
 * The hook and priority of a base chain: iptables-nft's tables name theirs after the hook
 * (`nat PREROUTING`), kube-proxy's nftables table after type and hook (`kube-proxy nat-prerouting`,
 * `filter-output-post-dnat`). Undefined for a regular chain.
 */
export function baseChainOf(table: string, chain: string): BaseChain | undefined {
  if (table === KUBE_PROXY_TABLE) {
    const c = KUBE_PROXY_BASE_CHAINS.get(chain);
    return c && { hook: c.hook.toUpperCase(), priority: c.priority, nat: c.type === 'nat' };
  }
  if (HOOK_RANK[chain] === undefined) return undefined;
  // nat runs late in INPUT and POSTROUTING (priority 100), early elsewhere.
  const priority = table === 'nat' && (chain === 'INPUT' || chain === 'POSTROUTING') ? 100 : (TABLE_PRIORITY[table] ?? 0);
  return { hook: chain, priority, nat: table === 'nat' };
}

/** Where a base chain runs in a packet's life: hook first, then the chain's priority. */
export function hookRank(table: string, chain: string): number {
  const base = baseChainOf(table, chain);
  return (HOOK_RANK[base?.hook ?? ''] ?? 1) * 1000 + (base?.priority ?? 0);
}

const TCP_FLAGS: [number, string][] = [
  [0x02, 'SYN'],
  [0x01, 'FIN'],
  [0x04, 'RST'],
  [0x08, 'PSH'],
  [0x10, 'ACK'],
];

/** `syn`, `0x12`, `syn | ack` -> `SYN`, `SYN-ACK`, `SYN-ACK`. */
export function tcpFlagNames(text: string): string {
  let bits = 0;
  for (const part of text.split('|').map((s) => s.trim())) {
    if (/^0x[0-9a-f]+$/i.test(part)) bits |= parseInt(part, 16);
    else bits |= TCP_FLAGS.find(([, name]) => name.toLowerCase() === part)?.[0] ?? 0;
  }
  return TCP_FLAGS.filter(([bit]) => bits & bit).map(([, name]) => name).join('-') || text;
}

export function parseHeaders(text: string): PacketHeaders {
  const get = (re: RegExp) => re.exec(text)?.[1];
  const num = (re: RegExp) => {
    const v = get(re);
    return v === undefined ? undefined : Number(v);
  };
  const l4 = get(/\b(tcp|udp|icmp) /) ?? get(/\bip protocol (\S+)/) ?? 'ip';
  const icmp = [get(/\bicmp type (\S+)/), get(/\bicmp code (\S+)/)].filter(Boolean).join(' ');
  const flags = l4 === 'tcp' ? get(/\btcp flags == ([^=]+?) tcp /) : l4 === 'icmp' ? icmp || undefined : undefined;
  const h: PacketHeaders = { src: get(/\bip saddr (\S+)/) ?? '?', dst: get(/\bip daddr (\S+)/) ?? '?', protocol: l4 };
  const fields: Partial<PacketHeaders> = {
    iif: get(/\biif "([^"]+)"/),
    oif: get(/\boif "([^"]+)"/),
    sport: num(/\b(?:tcp|udp) sport (\d+)/),
    dport: num(/\b(?:tcp|udp) dport (\d+)/),
    flags: flags === undefined ? undefined : l4 === 'tcp' ? tcpFlagNames(flags) : flags,
    ipId: num(/\bip id (\d+)/),
    ttl: num(/\bip ttl (\d+)/),
    length: num(/\bip length (\d+)/),
    mark: get(/\bmeta mark (\S+)/),
  };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) (h as unknown as Record<string, unknown>)[k] = v;
  return h;
}

/** `rule ... (verdict X)`, `unknown rule handle N (verdict X)`, `policy accept`, `verdict X`, `return`. */
export function parseHop(family: string, table: string, chain: string, rest: string): Hop | undefined {
  const base = { family, table, chain };
  const unknown = /^unknown rule handle (\d+) \(verdict (.+)\)$/.exec(rest.trim());
  if (unknown) return { ...base, kind: 'rule', handle: Number(unknown[1]), verdict: unknown[2]! };
  const rule = /^rule (.*) \(verdict (.+)\)$/.exec(rest.trim());
  if (rule) {
    let text = rule[1]!;
    const handle = /\s*# handle (\d+)\s*$/.exec(text);
    if (handle) text = text.slice(0, handle.index);
    text = text.replace(/\bcounter packets \d+ bytes \d+\s*/, '').replace(/\s+/g, ' ').trim();
    // A native nft rule's own comment (kube-proxy's nftables rules have some); iptables-nft's
    // `-m comment` is an xtables match that nft does not print (comments.ts recovers it).
    const comment = / comment "([^"]*)"$/.exec(text);
    if (comment) text = text.slice(0, comment.index);
    const hop: Hop = { ...base, kind: 'rule', verdict: rule[2]!, rule: text };
    if (handle) hop.handle = Number(handle[1]);
    if (comment) hop.comment = comment[1]!;
    const nat = natOf(text);
    if (nat) hop.nat = nat;
    return hop;
  }
  const policy = /^policy (\S+)/.exec(rest.trim());
  if (policy) return { ...base, kind: 'policy', verdict: policy[1]! };
  const verdict = /^verdict (.+)$/.exec(rest.trim());
  if (verdict) return { ...base, kind: 'verdict', verdict: verdict[1]!.trim() };
  if (/^return\b/.test(rest.trim())) return { ...base, kind: 'return', verdict: 'return' };
  return undefined;
}

/** What a rule's statement does to the packet's addresses or fate. */
export function natOf(rule: string): { kind: NatKind; to?: string } | undefined {
  const to = (re: RegExp) => re.exec(rule)?.[1];
  if (/\bdnat to /.test(rule)) return { kind: 'dnat', to: to(/\bdnat to (\S+)/)! };
  if (/\bsnat to /.test(rule)) return { kind: 'snat', to: to(/\bsnat to (\S+)/)! };
  // The statement, not a jump to kube-proxy's nftables chain `mark-for-masquerade`.
  if (/(?:^|\s)masquerade\b/.test(rule)) return { kind: 'masquerade' };
  // iptables-nft's `-j MARK --or-mark`, and kube-proxy's nftables mark-for-masquerade.
  if (/\bmeta mark set (?:meta )?mark (?:or|\|) 0x0*4000\b/.test(rule)) return { kind: 'mark-masq' };
  if (/\breject\b/.test(rule)) return { kind: 'reject' };
  if (/\bdrop\s*$/.test(rule)) return { kind: 'drop' };
  return undefined;
}

// Across nodes. Each node's monitor is its own process, and its lines reach us in chunks a
// millisecond or two apart, so the time a line was read orders a node's own events but not two
// nodes' events: the endpoint's node was seen printing the SYN before the client's node had
// finished printing it. The kernel leaves a better clock in the packet itself: the IP TTL, which
// every forwarding hop lowers, while the IP id, length and TCP flags stay. So a packet seen on two
// nodes was first where its TTL was higher; with that constraint and each node's own order kept,
// the read time only breaks the remaining ties.

/** Packets this close in read time (ms) may be the same packet on two nodes. */
const SAME_PACKET_WINDOW_MS = 1000;

/** All nodes' packets in one time line (see above). */
export function orderPackets(packets: NodePacket[]): NodePacket[] {
  const queues = new Map<string, NodePacket[]>();
  for (const p of [...packets].sort((a, b) => a.seq - b.seq)) queues.set(p.node, [...(queues.get(p.node) ?? []), p]);
  const pending = new Set(packets);
  const ordered: NodePacket[] = [];
  while (pending.size) {
    const heads = [...queues.values()].map((q) => q[0]).filter((p): p is NodePacket => p !== undefined);
    const ready = heads.filter((p) => !mustWait(p, pending));
    const next = (ready.length ? ready : heads).reduce((a, b) => (b.t < a.t ? b : a));
    ordered.push(next);
    pending.delete(next);
    queues.get(next.node)!.shift();
  }
  return ordered;
}

/** True when the same packet, still to be placed, was seen on another node with a higher TTL. */
function mustWait(p: NodePacket, pending: Set<NodePacket>): boolean {
  const key = packetKey(p.visits[0]?.headers);
  const ttl = p.visits[0]?.headers?.ttl;
  if (key === undefined || ttl === undefined) return false;
  for (const q of pending) {
    if (q === p || q.node === p.node) continue;
    const h = q.visits[0]?.headers;
    if (packetKey(h) === key && (h?.ttl ?? 0) > ttl && Math.abs(q.t - p.t) < SAME_PACKET_WINDOW_MS) return true;
  }
  return false;
}
