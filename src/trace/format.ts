// The trace as a student reads it: the request, the route the sender picked, then the packets
// in time order. Packets that went through nat chains (a connection's first packets, where
// kube-proxy's rules decide) are shown hook by hook; the rest of the connection, which conntrack
// handles without consulting those rules, one line each. Then the findings: the endpoint, the
// REJECT, the masquerade and the reply un-NATed.
import type { TracedHook, TracedPacket, TraceResult } from './report.js';

type HopView = TracedHook['hops'][number];

/** Where kube-proxy masquerades what it marked: iptables mode's chain, and nftables mode's. */
const MASQUERADE_CHAINS = ['KUBE-POSTROUTING', 'masquerading'];

export function formatTrace(r: TraceResult, options: { all?: boolean } = {}): string {
  const out: string[] = [];
  const q = r.request;
  out.push(`${q.protocol.toUpperCase()} ${q.source} -> ${q.destination}${q.service ? ` (service ${q.service})` : ''}, sent from ${q.from}`);
  if (q.route) out.push(`  route in the sender: ${q.route}`);
  out.push(q.ok ? `  answer: ${q.answer ?? '(empty)'}` : `  no answer: ${q.error ?? 'the request failed'}`);
  out.push('');
  if (!r.packets.length) out.push('The kernel traced no packet of this connection on any node.');
  const width = Math.max(0, ...r.packets.map((p) => p.node.length));
  r.packets.forEach((p, i) => {
    const head = `[${i + 1}] ${p.node.padEnd(width)}  ${p.direction} ${p.what}  ${p.src} -> ${p.dst}  ${interfaces(p)}`;
    if (!options.all && !p.natChains && p.verdict === 'accept' && !p.nat.length) {
      out.push(`${head}: ${oneLine(p)}`);
      return;
    }
    out.push(head);
    let routed = `${p.src} -> ${p.dst}`;
    for (const hook of p.hooks) {
      const now = `${hook.src} -> ${hook.dst}`;
      if (now !== routed) {
        out.push(`      now ${now}${hook.out ? `, routed out ${hook.out}` : ''}`);
        routed = now;
      }
      let previous = '';
      for (const hop of hook.hops) {
        const line = `      ${`${hook.table} ${hop.chain}`.padEnd(34)} ${hopText(hop, r)}`;
        // Both of knetlab's TRACE rules may match one packet; once is enough to say so.
        if (line !== previous || !hop.comment?.startsWith('knetlab trace')) out.push(line);
        previous = line;
      }
    }
  });
  out.push('');
  out.push(...findings(r));
  return out.join('\n');
}

function interfaces(p: TracedPacket): string {
  return [p.in ? `in ${p.in}` : 'sent by the node', p.out ? `out ${p.out}` : p.in ? 'to the node itself' : ''].filter(Boolean).join(', ');
}

/** The verdict of a packet that only conntrack-based rules saw: the rule that accepted it. */
function oneLine(p: TracedPacket): string {
  const hops = p.hooks.flatMap((h) => h.hops);
  const decisive = [...hops].reverse().find((h) => h.kind === 'rule' && h.verdict === 'accept');
  if (decisive) return `accepted by ${decisive.chain}${decisive.comment ? ` "${decisive.comment}"` : decisive.rule ? ` (${decisive.rule})` : ''}`;
  return `${p.verdict} (${p.hooks.map((h) => `${h.table} ${h.chain}`).join(', ')})`;
}

function hopText(hop: HopView, r: TraceResult): string {
  let what: string;
  if (hop.comment?.startsWith('knetlab trace')) return "TRACE (knetlab's own rule: trace this connection)";
  if (hop.kind === 'policy') what = `policy ${hop.verdict}`;
  else if (hop.nat?.kind === 'dnat') {
    const pod = r.endpoint && `${r.endpoint.ip}:${r.endpoint.port}` === hop.nat.to && r.endpoint.pod ? ` (pod ${r.endpoint.pod})` : '';
    what = `DNAT to ${hop.nat.to}${pod}`;
  } else if (hop.nat?.kind === 'snat') what = `SNAT to ${hop.nat.to}`;
  else if (hop.nat?.kind === 'masquerade') what = `MASQUERADE${r.masquerade?.to ? ` (as ${r.masquerade.to})` : ''}`;
  else if (hop.nat?.kind === 'mark-masq') what = 'MARK 0x4000 (masquerade this connection later)';
  else if (hop.rule && /mark set (?:meta )?mark (?:xor|\^) 0x0*4000\b/.test(hop.rule)) what = 'MARK xor 0x4000 (clear the mark before masquerading)';
  else if (hop.nat?.kind === 'reject') what = 'REJECT';
  else if (/^(jump|goto) /.test(hop.verdict)) what = `-> ${hop.verdict.replace(/^(jump|goto) /, '')}`;
  else if (hop.verdict === 'return' && MASQUERADE_CHAINS.includes(hop.chain)) what = 'return (not marked 0x4000: no masquerade)';
  else what = hop.verdict === 'continue' ? 'continue' : hop.verdict.toUpperCase();
  const why = hop.comment ? `"${hop.comment}"` : hop.kind === 'rule' && hop.rule && !/^(jump|goto) /.test(hop.verdict) ? `(${hop.rule})` : '';
  return why ? `${what.padEnd(44)} ${why}` : what;
}

function findings(r: TraceResult): string[] {
  const out: string[] = [];
  if (r.endpoint) {
    out.push(`Endpoint chosen: ${r.endpoint.ip}:${r.endpoint.port}${r.endpoint.pod ? `, pod ${r.endpoint.pod}` : ''}${r.endpoint.node ? ` on ${r.endpoint.node}` : ''} (${r.endpoint.chain ?? 'DNAT'})`);
  } else if (r.rejectedBy) {
    out.push(`Rejected on ${r.rejectedBy.node} by ${r.rejectedBy.table} ${r.rejectedBy.chain}${r.rejectedBy.comment ? ` "${r.rejectedBy.comment}"` : ''}: the client got an ICMP port unreachable`);
  } else if (r.packets.length) {
    out.push(`No DNAT: no kube-proxy rule matched ${r.request.destination}, so the packet went on as it was sent`);
  }
  if (r.masquerade) out.push(`Masqueraded on ${r.masquerade.node} in ${r.masquerade.chain}${r.masquerade.to ? `: the pod sees the request coming from ${r.masquerade.to}` : ''}`);
  else if (r.endpoint) out.push('Not masqueraded: the pod sees the client\'s own address');
  if (r.reply) out.push(`Reply un-NATed by conntrack on ${r.reply.node}: sent as ${r.reply.sent}, delivered as ${r.reply.delivered}`);
  if (r.conntrack.length) {
    out.push('Conntrack:');
    for (const c of r.conntrack) out.push(`  ${c.node}  ${c.state ? `${c.state}  ` : ''}original ${c.original}  reply ${c.reply}`);
  }
  const later = r.packets.filter((p) => !p.natChains).length;
  if (later && r.reply) out.push(`(${later} packet${later === 1 ? '' : 's'} after the first skipped the nat chains: conntrack rewrote them from the entry above.)`);
  return out;
}
