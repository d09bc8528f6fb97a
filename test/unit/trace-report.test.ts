// The report built from real captures (test/fixtures/trace/*.json, from `knetlab trace
// --save-capture` on a 3-node lab running examples/web.yaml plus a Service without endpoints):
// ClusterIP from a pod, NodePort from the LAN (masqueraded, endpoint on another node), a Service
// without endpoints, UDP hairpin, ClusterIP from a node. No root needed.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { serviceChainComment } from '../../src/trace/comments.js';
import { formatTrace } from '../../src/trace/format.js';
import { orderPackets, parseMonitorLines } from '../../src/trace/parse.js';
import { buildReport } from '../../src/trace/report.js';
import type { TraceCapture } from '../../src/trace/types.js';

function loadCapture(name: string): TraceCapture {
  return JSON.parse(readFileSync(new URL(`../fixtures/trace/${name}.json`, import.meta.url), 'utf8')) as TraceCapture;
}

/** Positions of the chains matching each pattern in `chains`, which must all exist and increase. */
function inOrder(chains: string[], patterns: RegExp[]): number[] {
  let from = 0;
  return patterns.map((re) => {
    const i = chains.findIndex((c, j) => j >= from && re.test(c));
    from = i + 1;
    return i;
  });
}

test('ClusterIP from a pod: the chains in order, the endpoint named, no masquerade, the reply un-NATed', (t) => {
  const r = buildReport(loadCapture('clusterip-from-pod'));
  const at = inOrder(r.chains, [/^mangle\/PREROUTING$/, /^nat\/KUBE-SERVICES$/, /^nat\/KUBE-SVC-/, /^nat\/KUBE-SEP-/, /^filter\/FORWARD$/, /^nat\/KUBE-POSTROUTING$/]);
  t.false(at.includes(-1), `chains: ${r.chains.join(' ')}`);
  t.deepEqual(r.endpoint, { ip: '10.42.1.2', port: 8080, chain: 'KUBE-SEP-PLLJBTOKCJEJKQRV', pod: 'web-655d56647b-8677k', node: 'agent-1', comment: 'default/web:http' });
  t.is(r.request.answer, r.endpoint?.pod, 'the pod the rules chose is the pod that answered');
  t.false(r.rejected);
  t.false(r.masqueraded);
  t.deepEqual(r.reply, { node: 'server', sent: '10.42.1.2:8080 -> 10.42.0.3:41460', delivered: '10.43.39.238:80 -> 10.42.0.3:41460' });

  const [syn, remoteSyn, synAck] = r.packets;
  t.like(syn, { node: 'server', direction: 'request', what: 'SYN', in: 'cni0', out: 'flannel.1', src: '10.42.0.3:41460', dst: '10.43.39.238:80', routedDst: '10.42.1.2:8080', natChains: true });
  t.deepEqual(syn!.nat, [{ kind: 'dnat', to: '10.42.1.2:8080', chain: 'KUBE-SEP-PLLJBTOKCJEJKQRV' }]);
  t.like(remoteSyn, { node: 'agent-1', direction: 'request', in: 'flannel.1', out: 'cni0', dst: '10.42.1.2:8080' });
  t.like(synAck, { node: 'agent-1', direction: 'reply', what: 'SYN-ACK' });
  // kube-proxy's comments, which nft cannot print, come back through the rule handles.
  const svcHop = syn!.hooks.flatMap((h) => h.hops).find((h) => h.verdict.startsWith('jump KUBE-SVC-'));
  t.is(svcHop?.comment, 'default/web:http cluster IP');
  t.regex(svcHop?.iptables ?? '', /^-A KUBE-SERVICES -d 10\.43\.39\.238\/32 -p tcp .*-j KUBE-SVC-CDGGSHYLG3RE2FKL$/);
  t.is(r.packets.length, 20, 'the whole connection: handshake, request, answer, close, on both nodes');
});

test('NodePort from the LAN: KUBE-NODEPORTS, the mark, the masquerade, and the masqueraded packets on the endpoint node', (t) => {
  const r = buildReport(loadCapture('nodeport-from-lan'));
  const at = inOrder(r.chains, [/^nat\/KUBE-SERVICES$/, /^nat\/KUBE-NODEPORTS$/, /^nat\/KUBE-EXT-/, /^nat\/KUBE-MARK-MASQ$/, /^nat\/KUBE-SVC-/, /^nat\/KUBE-SEP-/, /^nat\/KUBE-POSTROUTING$/]);
  t.false(at.includes(-1), `chains: ${r.chains.join(' ')}`);
  t.true(r.masqueraded);
  t.deepEqual(r.masquerade, { node: 'server', chain: 'KUBE-POSTROUTING', to: '10.42.0.0:59150' });
  t.like(r.endpoint, { ip: '10.42.2.2', pod: 'web-655d56647b-9q5hs', node: 'agent-2' });
  t.is(r.request.answer, 'web-655d56647b-9q5hs');
  // On agent-2 the connection has a new source: only conntrack ties it to the client.
  const remote = r.packets.filter((p) => p.node === 'agent-2');
  t.true(remote.length > 0);
  t.is(remote[0]!.src, '10.42.0.0:59150');
  t.true(r.chains.some((c) => c === 'nat/KUBE-POSTROUTING') && r.packets[0]!.nat.some((n) => n.kind === 'masquerade'));
  t.deepEqual(r.reply, { node: 'server', sent: '10.42.2.2:8080 -> 10.42.0.0:59150', delivered: '192.168.100.10:30080 -> 192.168.100.1:40673' });
});

test('a Service without endpoints: the filter-table REJECT, and the ICMP error it sends', (t) => {
  const r = buildReport(loadCapture('no-endpoints'));
  t.true(r.rejected);
  t.deepEqual(r.rejectedBy, { node: 'server', table: 'filter', chain: 'KUBE-SERVICES', comment: 'default/empty has no endpoints' });
  t.is(r.endpoint, undefined);
  t.false(r.request.ok);
  t.deepEqual(
    r.packets.map((p) => `${p.direction} ${p.what} ${p.verdict}`),
    ['request SYN reject', 'reply ICMP destination-unreachable port-unreachable accept'],
  );
  t.true(r.chains.includes('filter/KUBE-SERVICES'));
});

test('UDP to its own Service (hairpin): DNAT back to the sender, masqueraded as the bridge address', (t) => {
  const r = buildReport(loadCapture('udp-from-pod'));
  t.like(r.request, { protocol: 'udp', ok: true, answer: 'web-655d56647b-nl4p6' });
  t.like(r.endpoint, { ip: '10.42.0.3', port: 8081, pod: 'web-655d56647b-nl4p6' });
  t.like(r.masquerade, { node: 'server', to: '10.42.0.1:29909' });
  t.deepEqual(r.packets.map((p) => `${p.direction} ${p.what}`), ['request datagram', 'reply datagram']);
});

test('ClusterIP from a node: OUTPUT instead of PREROUTING, and the interface after the reroute', (t) => {
  const r = buildReport(loadCapture('clusterip-from-node'));
  t.is(r.chains[0], 'mangle/OUTPUT');
  t.true(r.chains.includes('nat/OUTPUT'));
  const first = r.packets[0]!;
  t.is(first.in, undefined, 'sent by the node itself');
  t.is(first.out, 'flannel.1', 'the route after DNAT, not the one to the ClusterIP');
  t.true(r.masqueraded, 'a node is not in the cluster CIDR: KUBE-SVC marks it for masquerade');
});

test('cross-node order comes from the TTL, whatever order the monitors were read in', (t) => {
  const capture = loadCapture('clusterip-from-pod');
  for (const skew of [-20, -5, 0, 5, 20]) {
    // Pretend agent-1's monitor was read `skew` ms later than it was.
    const lines = capture.lines.map((l) => (l.node === 'agent-1' ? { ...l, t: l.t + skew } : l));
    const ordered = orderPackets(parseMonitorLines(lines));
    const names = ordered.map((p) => `${p.node} ${p.visits[0]!.headers!.flags}`);
    t.deepEqual(names.slice(0, 4), ['server SYN', 'agent-1 SYN', 'agent-1 SYN-ACK', 'server SYN-ACK'], `skew ${skew} ms`);
    // Each node's own order is kept, and a packet seen on both nodes is first where its TTL was higher.
    for (const node of ['server', 'agent-1']) {
      const seqs = ordered.filter((p) => p.node === node).map((p) => p.seq);
      t.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    }
    ordered.forEach((p, i) => {
      const h = p.visits[0]!.headers!;
      const twin = ordered.findIndex((q) => q.node !== p.node && q.visits[0]!.headers!.ipId === h.ipId && q.visits[0]!.headers!.flags === h.flags);
      if (twin !== -1 && ordered[twin]!.visits[0]!.headers!.ttl! < h.ttl!) t.true(i < twin, `skew ${skew}: ${p.node} ${h.flags} id ${h.ipId}`);
    });
  }
});

test('packets of other connections (a concurrent trace, a probe) are left out', (t) => {
  const capture = loadCapture('clusterip-from-pod');
  const foreign = capture.lines.map((l) => ({ ...l, line: l.line.replace(/sport 41460/g, 'sport 41999').replace(/dport 41460/g, 'dport 41999') }));
  t.is(buildReport({ ...capture, lines: [...capture.lines, ...foreign] }).packets.length, 20);
});

test('the human output names the endpoint, the chains and the un-NAT', (t) => {
  const text = formatTrace(buildReport(loadCapture('nodeport-from-lan')));
  t.regex(text, /^TCP 192\.168\.100\.1:40673 -> 192\.168\.100\.10:30080 \(service default\/web:http\), sent from lan$/m);
  t.regex(text, /nat KUBE-NODEPORTS\s+-> KUBE-EXT-CDGGSHYLG3RE2FKL/);
  t.regex(text, /DNAT to 10\.42\.2\.2:8080 \(pod web-655d56647b-9q5hs\)/);
  t.regex(text, /MASQUERADE \(as 10\.42\.0\.0:59150\)/);
  t.regex(text, /^Endpoint chosen: 10\.42\.2\.2:8080, pod web-655d56647b-9q5hs on agent-2/m);
  t.regex(text, /^Reply un-NATed by conntrack on server: sent as 10\.42\.2\.2:8080 -> 10\.42\.0\.0:59150, delivered as 192\.168\.100\.10:30080 -> 192\.168\.100\.1:40673$/m);
  t.is(text.match(/TRACE \(knetlab's own rule/g)?.length, 2, 'once per node, although two TRACE rules matched on agent-2');
  const rejected = formatTrace(buildReport(loadCapture('no-endpoints')));
  t.regex(rejected, /filter KUBE-SERVICES\s+REJECT\s+"default\/empty has no endpoints"/);
});

// --- kube-proxy's nftables mode ---

test('nftables mode, ClusterIP from a pod: the kube-proxy chains in order, the endpoint chain named, the reply un-NATed', (t) => {
  const r = buildReport(loadCapture('nftables-clusterip-from-pod'));
  const at = inOrder(r.chains, [
    /^mangle\/PREROUTING$/,
    /^kube-proxy\/nat-prerouting$/,
    /^kube-proxy\/services$/,
    /^kube-proxy\/service-SUSTUHLJ-default\/web\/tcp\/http$/,
    /^kube-proxy\/endpoint-RYTVFLFH-default\/web\/tcp\/http__10\.42\.0\.3\/8080$/,
    /^kube-proxy\/filter-forward$/,
    /^kube-proxy\/nat-postrouting$/,
    /^kube-proxy\/masquerading$/,
  ]);
  t.false(at.includes(-1), `chains: ${r.chains.join(' ')}`);
  t.deepEqual(r.endpoint, {
    ip: '10.42.0.3',
    port: 8080,
    chain: 'endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080',
    pod: 'web-6568788c86-bh7db',
    node: 'server',
    comment: 'default/web:http -> 10.42.0.3:8080',
  });
  t.is(r.request.answer, r.endpoint?.pod);
  t.false(r.rejected);
  t.false(r.masqueraded, 'a pod client is not masqueraded');
  t.deepEqual(r.reply, { node: 'agent-1', sent: '10.42.0.3:8080 -> 10.42.1.2:43894', delivered: '10.43.39.238:80 -> 10.42.1.2:43894' });
  const [syn, remoteSyn, synAck] = r.packets;
  t.like(syn, { node: 'agent-1', direction: 'request', what: 'SYN', in: 'cni0', out: 'flannel.1', routedDst: '10.42.0.3:8080', natChains: true });
  t.deepEqual(syn!.nat, [{ kind: 'dnat', to: '10.42.0.3:8080', chain: 'endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080' }]);
  t.like(remoteSyn, { node: 'server', direction: 'request', in: 'flannel.1', out: 'cni0', natChains: true });
  t.like(synAck, { node: 'server', direction: 'reply', what: 'SYN-ACK', natChains: false });
  // The chain names stand in for kube-proxy's iptables comments.
  const hops = syn!.hooks.flatMap((h) => h.hops);
  t.is(hops.find((h) => h.verdict === 'goto service-SUSTUHLJ-default/web/tcp/http')?.comment, 'default/web:http');
  t.is(hops.find((h) => h.nat?.kind === 'dnat')?.comment, 'default/web:http -> 10.42.0.3:8080');
  t.is(r.packets.length, 20);
});

test('nftables mode, a Service without endpoints: @no-endpoint-services sends the SYN to reject-chain, which rejects it', (t) => {
  const r = buildReport(loadCapture('nftables-no-endpoints'));
  t.true(r.rejected);
  t.deepEqual(r.rejectedBy, { node: 'agent-1', table: 'kube-proxy', chain: 'reject-chain', comment: '@no-endpoint-services: the Service port has no endpoints' });
  t.is(r.endpoint, undefined);
  t.false(r.request.ok);
  t.deepEqual(
    r.packets.map((p) => `${p.direction} ${p.what} ${p.verdict}`),
    ['request SYN reject', 'reply ICMP destination-unreachable port-unreachable accept'],
  );
  const at = inOrder(r.chains, [/^kube-proxy\/filter-forward$/, /^kube-proxy\/service-endpoints-check$/, /^kube-proxy\/reject-chain$/]);
  t.false(at.includes(-1), `chains: ${r.chains.join(' ')}`);
});

test('nftables mode, NodePort from the LAN: the external chain marks, the endpoint chain DNATs, masquerading masquerades', (t) => {
  const r = buildReport(loadCapture('nftables-nodeport-from-lan'));
  const at = inOrder(r.chains, [
    /^kube-proxy\/services$/,
    /^kube-proxy\/external-SUSTUHLJ-default\/web\/tcp\/http$/,
    /^kube-proxy\/mark-for-masquerade$/,
    /^kube-proxy\/service-SUSTUHLJ-/,
    /^kube-proxy\/endpoint-JMQBPNXE-/,
    /^kube-proxy\/masquerading$/,
  ]);
  t.false(at.includes(-1), `chains: ${r.chains.join(' ')}`);
  t.deepEqual(r.packets[0]!.nat.map((n) => `${n.kind} ${n.chain}`), ['mark-masq mark-for-masquerade', 'dnat endpoint-JMQBPNXE-default/web/tcp/http__10.42.2.2/8080', 'masquerade masquerading']);
  t.deepEqual(r.masquerade, { node: 'server', chain: 'masquerading', to: '10.42.0.0:6255' });
  t.like(r.endpoint, { ip: '10.42.2.2', pod: 'web-6568788c86-4vgm7', node: 'agent-2' });
  t.is(r.request.answer, 'web-6568788c86-4vgm7');
  t.is(r.packets.filter((p) => p.node === 'agent-2')[0]!.src, '10.42.0.0:6255');
});

test('nftables mode, ClusterIP from a node: nat-output instead of nat-prerouting, the interface after the reroute', (t) => {
  const r = buildReport(loadCapture('nftables-clusterip-from-node'));
  t.is(r.chains[0], 'mangle/OUTPUT');
  t.true(r.chains.includes('kube-proxy/nat-output'));
  const first = r.packets[0]!;
  t.is(first.in, undefined, 'sent by the node itself');
  t.is(first.out, 'flannel.1', 'the route after DNAT, not the one to the ClusterIP');
  t.deepEqual(first.hooks.map((h) => `${h.table} ${h.chain}`), ['mangle OUTPUT', 'kube-proxy filter-output', 'kube-proxy nat-output', 'kube-proxy filter-output-post-dnat', 'kube-proxy nat-postrouting']);
  t.true(r.masqueraded, 'a node is not in the cluster CIDR: the service chain marks it for masquerade');
});

test('nftables mode, the human output: the service chain, the endpoint chain, the DNAT, the masquerade, the reject', (t) => {
  const text = formatTrace(buildReport(loadCapture('nftables-nodeport-from-lan')));
  t.regex(text, /kube-proxy services\s+-> external-SUSTUHLJ-default\/web\/tcp\/http\s+"default\/web:http \(external traffic\)"/);
  t.regex(text, /kube-proxy service-SUSTUHLJ-default\/web\/tcp\/http -> endpoint-JMQBPNXE-default\/web\/tcp\/http__10\.42\.2\.2\/8080 "default\/web:http -> 10\.42\.2\.2:8080"/);
  t.regex(text, /kube-proxy endpoint-JMQBPNXE-\S+ DNAT to 10\.42\.2\.2:8080 \(pod web-6568788c86-4vgm7\)/);
  t.regex(text, /kube-proxy mark-for-masquerade\s+MARK 0x4000 \(masquerade this connection later\)/);
  t.regex(text, /kube-proxy masquerading\s+MASQUERADE \(as 10\.42\.0\.0:6255\)/);
  t.regex(text, /kube-proxy masquerading\s+return \(not marked 0x4000: no masquerade\)/, 'on the endpoint node');
  t.regex(text, /^Endpoint chosen: 10\.42\.2\.2:8080, pod web-6568788c86-4vgm7 on agent-2 \(endpoint-JMQBPNXE-default\/web\/tcp\/http__10\.42\.2\.2\/8080\)$/m);
  t.regex(text, /^Masqueraded on server in masquerading: the pod sees the request coming from 10\.42\.0\.0:6255$/m);
  const rejected = formatTrace(buildReport(loadCapture('nftables-no-endpoints')));
  t.regex(rejected, /kube-proxy reject-chain\s+REJECT\s+"@no-endpoint-services: the Service port has no endpoints"/);
  t.regex(rejected, /^Rejected on agent-1 by kube-proxy reject-chain/m);
});

test("kube-proxy's nftables chain names, worded as its iptables comments", (t) => {
  t.is(serviceChainComment('service-SUSTUHLJ-default/web/tcp/http'), 'default/web:http');
  t.is(serviceChainComment('endpoint-JMQBPNXE-default/web/tcp/http__10.42.2.2/8080'), 'default/web:http -> 10.42.2.2:8080');
  t.is(serviceChainComment('external-SUSTUHLJ-default/web/tcp/http'), 'default/web:http (external traffic)');
  t.is(serviceChainComment('local-4Z6N3DUC-default/local/tcp/http'), 'default/local:http (node-local endpoints)');
  t.is(serviceChainComment('service-2NQAXYPW-default/sticky/udp/'), 'default/sticky', 'an unnamed port');
  t.is(serviceChainComment('endpoint-AWS22TDF-default/sticky/udp/__10.42.1.2/8081'), 'default/sticky -> 10.42.1.2:8081');
  t.is(serviceChainComment('services'), undefined);
  t.is(serviceChainComment('mark-for-masquerade'), undefined);
});
