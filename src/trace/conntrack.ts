// The NAT the kernel remembered for the traced connection. nat chains see only a connection's
// first packet; every later packet, and the reply above all, is rewritten from the conntrack
// entry. `conntrack -L` shows each entry as two tuples: the original direction (what the client
// sent: src=CLIENT dst=CLUSTER-IP) and the reply direction (what the server sends back: src=POD
// dst=CLIENT, or dst=the node's address when the request was masqueraded). A masqueraded request
// starts a second entry on the next node, with the masquerade address as its source.
import { run } from '../kernel/exec.js';
import type { ConntrackEntry, TraceNode, TraceProtocol, Tuple } from './types.js';

/** Parses `conntrack -L` output lines (ICMP entries, which have no ports, are skipped). */
export function parseConntrack(node: string, text: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)\s+\d+\s+\d+\s+(?:([A-Z_]+)\s+)?(.*)$/.exec(line.trim());
    if (!m) continue;
    const tuples: Tuple[] = [];
    for (const t of m[3]!.matchAll(/src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/g)) {
      tuples.push({ src: t[1]!, dst: t[2]!, sport: Number(t[3]), dport: Number(t[4]) });
    }
    if (tuples.length !== 2) continue;
    const entry: ConntrackEntry = { node, protocol: m[1]!, original: tuples[0]!, reply: tuples[1]!, flags: [...m[3]!.matchAll(/\[([A-Z_]+)\]/g)].map((f) => f[1]!) };
    if (m[2]) entry.state = m[2];
    entries.push(entry);
  }
  return entries;
}

/** True when the reply is not simply the request turned around: the source was rewritten (SNAT/MASQUERADE). */
export function isSourceNatted(e: ConntrackEntry): boolean {
  return e.reply.dst !== e.original.src || e.reply.dport !== e.original.sport;
}

/** True when the destination was rewritten (DNAT): the reply comes from somewhere else than the request went. */
export function isDestinationNatted(e: ConntrackEntry): boolean {
  return e.reply.src !== e.original.dst || e.reply.sport !== e.original.dport;
}

export const formatTuple = (t: Tuple): string => `${t.src}:${t.sport} -> ${t.dst}:${t.dport}`;

async function listOn(node: TraceNode, protocol: TraceProtocol, src: string, sport: number): Promise<ConntrackEntry[]> {
  const r = await run(['ip', 'netns', 'exec', node.netns, 'conntrack', '-L', '-p', protocol, '--orig-src', src, '--orig-port-src', String(sport)], { allowFailure: true });
  return r.exitCode === 0 ? parseConntrack(node.name, r.stdout) : [];
}

/**
 * The connection's entries on every node: first those with the client's own source, then, for
 * each entry that masqueraded it, the entries the masqueraded packets made on the other nodes.
 */
export async function readConnection(nodes: TraceNode[], protocol: TraceProtocol, client: { ip: string; port: number }): Promise<ConntrackEntry[]> {
  const found = (await Promise.all(nodes.map((n) => listOn(n, protocol, client.ip, client.port)))).flat();
  const seen = new Set(found.map((e) => `${e.node} ${formatTuple(e.original)}`));
  for (let i = 0; i < found.length && i < 8; i++) {
    const e = found[i]!;
    if (!isSourceNatted(e)) continue;
    const next = (await Promise.all(nodes.filter((n) => n.name !== e.node).map((n) => listOn(n, protocol, e.reply.dst, e.reply.dport)))).flat();
    for (const n of next) {
      const key = `${n.node} ${formatTuple(n.original)}`;
      if (!seen.has(key)) {
        seen.add(key);
        found.push(n);
      }
    }
  }
  return found;
}
