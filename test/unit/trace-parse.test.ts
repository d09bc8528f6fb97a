// Reading `nft -a monitor trace` output: single lines as the kernel prints them, then whole real
// captures (test/fixtures/trace/*.json, saved by `knetlab trace --save-capture` on a 3-node lab;
// nftables-*.json on one whose kube-proxy runs in nftables mode), where one packet's base-chain
// visits must be joined although its trace id changes after NAT.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { baseChainOf, hookRank, natOf, packetKey, parseHeaders, parseHop, parseMonitorLines, tcpFlagNames } from '../../src/trace/parse.js';
import type { TraceCapture } from '../../src/trace/types.js';

function loadCapture(name: string): TraceCapture {
  return JSON.parse(readFileSync(new URL(`../fixtures/trace/${name}.json`, import.meta.url), 'utf8')) as TraceCapture;
}

test('a rule line: verdict, handle, nft text without counters, and the DNAT it does', (t) => {
  const hop = parseHop('ip', 'nat', 'KUBE-SEP-EYTLCQOZPYH7RYCS', 'rule meta l4proto tcp   counter packets 0 bytes 0 dnat to 10.42.2.2:8080 # handle 174 (verdict accept)');
  t.deepEqual(hop, {
    family: 'ip',
    table: 'nat',
    chain: 'KUBE-SEP-EYTLCQOZPYH7RYCS',
    kind: 'rule',
    verdict: 'accept',
    rule: 'meta l4proto tcp dnat to 10.42.2.2:8080',
    handle: 174,
    nat: { kind: 'dnat', to: '10.42.2.2:8080' },
  });
});

test('jumps, unknown rules (added after the monitor started), policies', (t) => {
  t.like(parseHop('ip', 'nat', 'PREROUTING', 'rule  counter packets 0 bytes 0 jump KUBE-SERVICES # handle 144 (verdict jump KUBE-SERVICES)'), { kind: 'rule', verdict: 'jump KUBE-SERVICES', handle: 144 });
  t.deepEqual(parseHop('ip', 'mangle', 'PREROUTING', 'unknown rule handle 3 (verdict continue)'), { family: 'ip', table: 'mangle', chain: 'PREROUTING', kind: 'rule', handle: 3, verdict: 'continue' });
  t.like(parseHop('ip', 'filter', 'FORWARD', 'policy accept '), { kind: 'policy', verdict: 'accept' });
  t.is(parseHop('ip', 'filter', 'FORWARD', 'something else'), undefined);
});

test('what a rule does: DNAT, masquerade, the masquerade mark, REJECT', (t) => {
  t.deepEqual(natOf('meta l4proto tcp dnat to 10.42.1.2:8080'), { kind: 'dnat', to: '10.42.1.2:8080' });
  t.deepEqual(natOf('masquerade fully-random'), { kind: 'masquerade' });
  t.deepEqual(natOf('meta mark set mark or 0x4000'), { kind: 'mark-masq' });
  t.deepEqual(natOf('meta l4proto tcp ip daddr 10.43.190.241 tcp dport 80 reject'), { kind: 'reject' });
  t.is(natOf('meta mark & 0x00004000 != 0x00004000 return'), undefined);
});

test('packet lines: interfaces, addresses, ports, TCP flags by name, ICMP type', (t) => {
  const syn = parseHeaders(
    'iif "cni0" oif "flannel.1" ether saddr 56:92:1e:a7:0e:c7 ether daddr 06:78:35:34:fc:eb ip saddr 10.42.0.3 ip daddr 10.42.2.2 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 53869 ip length 60 tcp sport 45123 tcp dport 8080 tcp flags == syn tcp window 64860 ',
  );
  t.deepEqual(syn, { src: '10.42.0.3', dst: '10.42.2.2', protocol: 'tcp', iif: 'cni0', oif: 'flannel.1', sport: 45123, dport: 8080, flags: 'SYN', ipId: 53869, ttl: 63, length: 60 });
  const icmp = parseHeaders('oif "cni0" ip saddr 10.42.0.1 ip daddr 10.42.0.3 ip dscp cs6 ip ecn not-ect ip ttl 64 ip id 13036 ip length 88 icmp type destination-unreachable icmp code port-unreachable icmp id 0 icmp sequence 0 @th,64,96 0x4500003c0af940003f065d7a ');
  t.like(icmp, { protocol: 'icmp', flags: 'destination-unreachable port-unreachable', src: '10.42.0.1', dst: '10.42.0.3' });
  t.is(icmp.sport, undefined);
});

test('TCP flags as nft prints them', (t) => {
  t.is(tcpFlagNames('syn'), 'SYN');
  t.is(tcpFlagNames('0x12'), 'SYN-ACK');
  t.is(tcpFlagNames('0x18'), 'PSH-ACK');
  t.is(tcpFlagNames('0x11'), 'FIN-ACK');
  t.is(tcpFlagNames('syn | ack'), 'SYN-ACK');
});

test('hooks rank in the order a packet meets them', (t) => {
  const order = [
    ['mangle', 'PREROUTING'],
    ['nat', 'PREROUTING'],
    ['mangle', 'FORWARD'],
    ['filter', 'FORWARD'],
    ['mangle', 'POSTROUTING'],
    ['nat', 'POSTROUTING'],
  ].map(([table, chain]) => hookRank(table!, chain!));
  t.deepEqual([...order].sort((a, b) => a - b), order);
  t.true(hookRank('filter', 'INPUT') < hookRank('nat', 'INPUT'));
});

test('a real capture: the SYN on the client node is one packet through four base chains, although its trace id changed', (t) => {
  const capture = loadCapture('clusterip-from-pod');
  const packets = parseMonitorLines(capture.lines);
  const server = packets.filter((p) => p.node === 'server');
  const syn = server[0]!;
  t.deepEqual(
    syn.visits.map((v) => `${v.table} ${v.chain}`),
    ['mangle PREROUTING', 'nat PREROUTING', 'filter FORWARD', 'nat POSTROUTING'],
  );
  t.not(syn.visits[0]!.traceId, syn.visits[2]!.traceId, 'the kernel gives the DNATed packet a new trace id');
  t.is(syn.visits[0]!.headers!.dst, '10.43.39.238');
  t.is(syn.visits[2]!.headers!.dst, '10.42.1.2');
  t.is(packetKey(syn.visits[0]!.headers), packetKey(syn.visits[3]!.headers));
  // Every later packet of the connection is its own packet, in the node's order.
  t.true(server.every((p, i) => p.seq === i));
  t.true(server.slice(1).every((p) => p.visits.every((v) => v.table !== 'nat')), 'only the first packet crosses nat chains');
});

test('a real capture: the REJECT event, printed after the ICMP error it caused, still lands on the SYN', (t) => {
  const packets = parseMonitorLines(loadCapture('no-endpoints').lines);
  t.is(packets.length, 2);
  const [syn, icmp] = packets;
  const forward = syn!.visits.find((v) => v.table === 'filter')!;
  t.like(forward.hops[forward.hops.length - 1], { chain: 'KUBE-SERVICES', verdict: 'drop', nat: { kind: 'reject' } });
  t.is(icmp!.visits[0]!.headers!.protocol, 'icmp');
});

test('lines that are not trace events are ignored', (t) => {
  t.deepEqual(parseMonitorLines([{ node: 'n', t: 0, line: '# Warning: table ip nat is managed by iptables-nft, do not touch!' }]), []);
});

// --- kube-proxy's nftables mode: `table ip kube-proxy` ---

test("kube-proxy's nftables base chains rank by their hook and priority, among iptables-nft's", (t) => {
  const prerouting = [['mangle', 'PREROUTING'], ['kube-proxy', 'filter-prerouting'], ['kube-proxy', 'nat-prerouting'], ['kube-proxy', 'filter-forward'], ['kube-proxy', 'nat-postrouting']];
  const output = [['mangle', 'OUTPUT'], ['kube-proxy', 'filter-output'], ['kube-proxy', 'nat-output'], ['kube-proxy', 'filter-output-post-dnat'], ['kube-proxy', 'nat-postrouting']];
  for (const order of [prerouting, output]) {
    const ranks = order.map(([table, chain]) => hookRank(table!, chain!));
    t.deepEqual([...ranks].sort((a, b) => a - b), ranks);
    t.is(new Set(ranks).size, ranks.length);
  }
  t.deepEqual(baseChainOf('kube-proxy', 'nat-output'), { hook: 'OUTPUT', priority: -100, nat: true });
  t.deepEqual(baseChainOf('kube-proxy', 'filter-input'), { hook: 'INPUT', priority: -110, nat: false });
  t.deepEqual(baseChainOf('nat', 'POSTROUTING'), { hook: 'POSTROUTING', priority: 100, nat: true });
  t.is(baseChainOf('kube-proxy', 'services'), undefined, 'a regular chain');
  t.is(baseChainOf('nat', 'KUBE-SERVICES'), undefined);
});

test('nftables-mode lines: the vmap goto, the dnat, the native comment taken out of the rule', (t) => {
  t.like(parseHop('ip', 'kube-proxy', 'services', 'rule ip daddr . meta l4proto . th dport vmap @service-ips # handle 53 (verdict goto service-SUSTUHLJ-default/web/tcp/http)'), {
    kind: 'rule',
    rule: 'ip daddr . meta l4proto . th dport vmap @service-ips',
    handle: 53,
    verdict: 'goto service-SUSTUHLJ-default/web/tcp/http',
  });
  t.like(parseHop('ip', 'kube-proxy', 'endpoint-3CMDTCLZ-default/web/tcp/http__10.42.1.3/8080', 'rule meta l4proto tcp dnat to 10.42.1.3:8080 # handle 91 (verdict accept)'), {
    nat: { kind: 'dnat', to: '10.42.1.3:8080' },
  });
  t.deepEqual(parseHop('ip', 'kube-proxy', 'cluster-ips-check', 'rule ip daddr 10.43.0.0/16 drop comment "Drop traffic to unallocated ClusterIPs" # handle 48 (verdict drop)'), {
    family: 'ip',
    table: 'kube-proxy',
    chain: 'cluster-ips-check',
    kind: 'rule',
    verdict: 'drop',
    rule: 'ip daddr 10.43.0.0/16 drop',
    handle: 48,
    comment: 'Drop traffic to unallocated ClusterIPs',
    nat: { kind: 'drop' },
  });
  t.like(parseHop('ip', 'kube-proxy', 'reject-chain', 'rule reject # handle 140 (verdict drop)'), { nat: { kind: 'reject' } });
});

test("nftables mode: the mark is mark-for-masquerade's own statement, not a jump to it; the masquerade statement", (t) => {
  t.deepEqual(natOf('meta mark set meta mark | 0x00004000'), { kind: 'mark-masq' });
  t.is(natOf('ip daddr 10.43.39.238 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade'), undefined);
  t.is(natOf('jump mark-for-masquerade'), undefined);
  t.deepEqual(natOf('masquerade fully-random'), { kind: 'masquerade' });
});

test('a real nftables-mode capture: the SYN is one packet through mangle and five kube-proxy base chains', (t) => {
  const packets = parseMonitorLines(loadCapture('nftables-clusterip-from-pod').lines);
  const synOn = (node: string) => packets.find((p) => p.node === node && p.visits[0]!.headers!.flags === 'SYN');
  const syn = synOn('agent-1');
  for (const packet of [syn, synOn('server')]) {
    t.deepEqual(
      packet!.visits.map((v) => `${v.table} ${v.chain}`),
      ['mangle PREROUTING', 'kube-proxy filter-prerouting', 'kube-proxy nat-prerouting', 'kube-proxy filter-forward', 'kube-proxy nat-postrouting'],
    );
  }
  const hops = syn!.visits.find((v) => v.chain === 'nat-prerouting')!.hops;
  t.deepEqual(
    hops.map((h) => `${h.chain}: ${h.verdict}`),
    [
      'nat-prerouting: jump services',
      'services: goto service-SUSTUHLJ-default/web/tcp/http',
      'service-SUSTUHLJ-default/web/tcp/http: goto endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080',
      'endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080: accept',
    ],
  );
});
