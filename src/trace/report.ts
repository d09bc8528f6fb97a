// What a trace means, worked out from what it observed (a TraceCapture) without touching the
// kernel: the connection's packets in time order, each with the node it crossed, its direction,
// the interfaces in and out and every hook, chain and verdict; the chains of the first request
// packet; the endpoint kube-proxy's rules chose (the KUBE-SEP chain, or in nftables mode the
// endpoint- chain, and its DNAT, named by pod); the reject of a Service without endpoints; the
// masquerade; and the reply un-NATed by conntrack.
import { annotateHops } from './comments.js';
import { formatTuple, isDestinationNatted, isSourceNatted } from './conntrack.js';
import { baseChainOf, orderPackets, packetKey, parseMonitorLines } from './parse.js';
import type { Hop, HookVisit, NatKind, NodePacket, PacketHeaders, TraceCapture } from './types.js';

export interface TracedHook {
  table: string;
  chain: string;
  in?: string;
  out?: string;
  src: string;
  dst: string;
  hops: Omit<Hop, 'family' | 'table'>[];
}

export interface TracedPacket {
  node: string;
  direction: 'request' | 'reply';
  /** SYN, SYN-ACK, ACK, PSH-ACK, FIN-ACK, datagram, ICMP destination-unreachable... */
  what: string;
  in?: string;
  out?: string;
  /** Source and destination as the packet entered the node, and as it was routed on. */
  src: string;
  dst: string;
  routedSrc: string;
  routedDst: string;
  /** Whether this packet went through nat chains: only a connection's first packet does. */
  natChains: boolean;
  nat: { kind: NatKind; to?: string; chain: string }[];
  /** The last verdict: accept, drop, reject. */
  verdict: string;
  hooks: TracedHook[];
}

export interface TraceResult {
  request: {
    from: string;
    to: string;
    protocol: string;
    service?: string;
    source: string;
    destination: string;
    route?: string;
    ok: boolean;
    answer?: string;
    error?: string;
  };
  packets: TracedPacket[];
  /** `table/CHAIN` entered by the first request packet, on every node it crossed, in order. */
  chains: string[];
  endpoint?: { ip: string; port: number; pod?: string; node?: string; chain?: string; comment?: string };
  rejected: boolean;
  rejectedBy?: { node: string; table: string; chain: string; comment?: string };
  masqueraded: boolean;
  masquerade?: { node: string; chain: string; to?: string };
  conntrack: { node: string; original: string; reply: string; state?: string }[];
  /** The first reply as the pod sent it and as conntrack rewrote it for the client. */
  reply?: { node: string; sent: string; delivered: string };
}

const ep = (ip: string, port: number | undefined) => (port === undefined ? ip : `${ip}:${port}`);

export function buildReport(capture: TraceCapture): TraceResult {
  const { request: req } = capture;
  const parsed = parseMonitorLines(capture.lines);
  for (const p of parsed) for (const v of p.visits) annotateHops(p.node, v.hops, capture.rules);

  // The connection's own addresses on the client's side: the client, and every masquerade of it.
  const clientSide = new Set([ep(req.from.ip, req.clientPort), ...capture.conntrack.flatMap((e) => [ep(e.original.src, e.original.sport), ep(e.reply.dst, e.reply.dport)])]);
  const clientIPs = new Set([...clientSide].map((a) => a.slice(0, a.lastIndexOf(':'))));
  const direction = (h: PacketHeaders | undefined): 'request' | 'reply' | undefined => {
    if (!h) return undefined;
    if (h.protocol === 'icmp') return clientIPs.has(h.dst) ? 'reply' : clientIPs.has(h.src) ? 'request' : undefined;
    if (clientSide.has(ep(h.src, h.sport))) return 'request';
    if (clientSide.has(ep(h.dst, h.dport))) return 'reply';
    return undefined;
  };
  const ours = orderPackets(parsed.filter((p) => direction(p.visits[0]?.headers) !== undefined));
  const packets = ours.map((p) => describe(p, direction(p.visits[0]!.headers)!));

  const result: TraceResult = {
    request: {
      from: req.from.target,
      to: req.to.target,
      protocol: req.protocol,
      source: ep(req.from.ip, req.clientPort),
      destination: ep(req.to.ip, req.to.port),
      ok: capture.client.ok,
    },
    packets,
    chains: firstRequestChains(ours, direction),
    rejected: false,
    masqueraded: false,
    conntrack: capture.conntrack.map((e) => ({ node: e.node, original: formatTuple(e.original), reply: formatTuple(e.reply), ...(e.state ? { state: e.state } : {}) })),
  };
  if (req.service) result.request.service = req.service;
  if (capture.route) result.request.route = capture.route;
  if (capture.client.answer) result.request.answer = capture.client.answer;
  if (capture.client.error) result.request.error = capture.client.error;

  for (const p of packets) {
    for (const n of p.nat) {
      if (n.kind === 'dnat' && p.direction === 'request' && !result.endpoint && n.to) {
        const [ip, port] = [n.to.slice(0, n.to.lastIndexOf(':')), Number(n.to.slice(n.to.lastIndexOf(':') + 1))];
        const known = req.endpoints.find((e) => e.ip === ip && e.port === port);
        const hop = p.hooks.flatMap((h) => h.hops).find((h) => h.nat?.kind === 'dnat');
        result.endpoint = { ip, port, chain: n.chain, ...(known?.pod ? { pod: known.pod } : {}), ...(known?.node ? { node: known.node } : {}), ...(hop?.comment ? { comment: hop.comment } : {}) };
      }
      if (n.kind === 'reject' && !result.rejectedBy) {
        result.rejected = true;
        const hop = p.hooks.flatMap((h) => h.hops.map((x) => ({ ...x, table: h.table }))).find((h) => h.nat?.kind === 'reject');
        result.rejectedBy = { node: p.node, table: hop?.table ?? 'filter', chain: n.chain, ...(hop?.comment ? { comment: hop.comment } : {}) };
      }
      if ((n.kind === 'masquerade' || n.kind === 'snat') && p.direction === 'request' && !result.masquerade) {
        result.masqueraded = true;
        const entry = capture.conntrack.find((e) => e.node === p.node && isSourceNatted(e));
        result.masquerade = { node: p.node, chain: n.chain, ...(entry ? { to: ep(entry.reply.dst, entry.reply.dport) } : n.to ? { to: n.to } : {}) };
      }
    }
  }
  const natted = capture.conntrack.find((e) => isDestinationNatted(e) && e.original.src === req.from.ip && e.original.sport === req.clientPort);
  if (natted) {
    result.reply = { node: natted.node, sent: formatTuple(natted.reply), delivered: formatTuple({ src: natted.original.dst, sport: natted.original.dport, dst: natted.original.src, dport: natted.original.sport }) };
  }
  return result;
}

function describe(p: NodePacket, direction: 'request' | 'reply'): TracedPacket {
  const first = p.visits[0]!.headers!;
  const routed = [...p.visits].reverse().find((v) => v.headers)?.headers ?? first;
  const hooks: TracedHook[] = p.visits.map((v) => {
    const h = v.headers ?? first;
    const hook: TracedHook = { table: v.table, chain: v.chain, src: ep(h.src, h.sport), dst: ep(h.dst, h.dport), hops: v.hops.map(({ family: _f, table: _t, ...hop }) => hop) };
    if (h.iif) hook.in = h.iif;
    if (h.oif && !isOutputHook(v)) hook.out = h.oif;
    return hook;
  });
  const all = p.visits.flatMap((v) => v.hops);
  const lastHop = all[all.length - 1];
  const nat = all.filter((h) => h.nat && h.nat.kind !== 'drop').map((h) => ({ kind: h.nat!.kind, chain: h.chain, ...(h.nat!.to ? { to: h.nat!.to } : {}) }));
  const packet: TracedPacket = {
    node: p.node,
    direction,
    what: first.protocol === 'tcp' ? (first.flags ?? 'TCP') : first.protocol === 'udp' ? 'datagram' : `${first.protocol.toUpperCase()} ${first.flags ?? ''}`.trim(),
    src: ep(first.src, first.sport),
    dst: ep(first.dst, first.dport),
    routedSrc: ep(routed.src, routed.sport),
    routedDst: ep(routed.dst, routed.dport),
    natChains: p.visits.some((v) => baseChainOf(v.table, v.chain)?.nat === true),
    nat,
    verdict: nat.some((n) => n.kind === 'reject') ? 'reject' : lastHop?.verdict === 'drop' ? 'drop' : 'accept',
    hooks,
  };
  if (first.iif) packet.in = first.iif;
  // In OUTPUT the trace shows the interface of the route looked up before NAT, which the nat hook
  // may change: only FORWARD and POSTROUTING tell where the packet really leaves.
  const leaving = [...p.visits].reverse().find((v) => v.headers?.oif && !isOutputHook(v));
  if (leaving) packet.out = leaving.headers!.oif!;
  return packet;
}

const isOutputHook = (v: HookVisit) => baseChainOf(v.table, v.chain)?.hook === 'OUTPUT';

/** The chains the connection's first request packet entered, following it from node to node. */
function firstRequestChains(packets: NodePacket[], direction: (h: PacketHeaders | undefined) => string | undefined): string[] {
  const first = packets.find((p) => direction(p.visits[0]?.headers) === 'request');
  if (!first) return [];
  const key = packetKey(first.visits[0]?.headers);
  const same = packets.filter((p) => p === first || (key !== undefined && packetKey(p.visits[0]?.headers) === key && direction(p.visits[0]?.headers) === 'request'));
  const chains: string[] = [];
  for (const p of same) {
    for (const v of p.visits) {
      chains.push(`${v.table}/${v.chain}`);
      for (const h of v.hops) {
        const jump = /^(?:jump|goto) (\S+)/.exec(h.verdict);
        if (jump) chains.push(`${v.table}/${jump[1]}`);
      }
    }
  }
  return chains;
}
