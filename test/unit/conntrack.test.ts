// `knetlab conntrack`'s pure parts on real `conntrack -L` output captured from a lab's nodes
// (test/fixtures/conntrack: web.yaml's 3-replica NodePort Service, curls to its ClusterIP from
// the server node, NodePort requests from the lan machine, DNS from a pod, a UDP datagram, an
// ICMP echo; lab.json is that lab's status, pods and Services): parsing every line, the DNAT and
// SNAT read from the tuples, the pod names, the lab-traffic and --svc filters, the table.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pod, Service } from '../../src/api/types.js';
import { describeNat, LabAddresses, selectEntries } from '../../src/conntrack/annotate.js';
import { buildReport, contextFromLab, formatConntrackTable, formatSummary } from '../../src/conntrack/format.js';
import { parseConntrack, parseConntrackLine, tupleText } from '../../src/conntrack/parse.js';
import type { GraphStatusInput } from '../../src/graph/model.js';

const DIR = fileURLToPath(new URL('../fixtures/conntrack/', import.meta.url));
const read = (name: string) => readFileSync(`${DIR}${name}`, 'utf8');
const lab = JSON.parse(read('lab.json')) as { status: GraphStatusInput & { config: { lanCIDR: string } }; pods: Pod[]; services: Service[] };
const ctx = contextFromLab(lab.status as never, lab.pods, lab.services);
const CLUSTER_IP = '10.43.39.238';
const WEB_PODS = new Map(lab.pods.filter((p) => p.metadata.name.startsWith('web-')).map((p) => [p.status!.podIP!, p.metadata.name]));
const lines = (name: string) => read(name).split('\n').filter((l) => l.trim());

test('every line of the captured tables parses, none is lost', (t) => {
  for (const name of ['server.txt', 'agent-1.txt', 'server-extended-id.txt']) {
    const { entries, problems } = parseConntrack(read(name));
    t.deepEqual(problems, [], name);
    t.is(entries.length, lines(name).length, name);
  }
});

test('a curl from the node to the ClusterIP: DNAT to a pod, masqueraded as flannel.1', (t) => {
  const e = parseConntrackLine('tcp      6 431999 ESTABLISHED src=192.168.100.10 dst=10.43.39.238 sport=40906 dport=80 src=10.42.2.2 dst=10.42.0.0 sport=8080 dport=16641 [ASSURED] mark=0 use=1');
  t.deepEqual(e, {
    protocol: 'tcp',
    protocolNumber: 6,
    state: 'ESTABLISHED',
    timeout: 431999,
    original: { src: '192.168.100.10', dst: CLUSTER_IP, sport: 40906, dport: 80 },
    reply: { src: '10.42.2.2', dst: '10.42.0.0', sport: 8080, dport: 16641 },
    flags: ['ASSURED'],
    mark: 0,
    use: 1,
    extra: {},
  });
  const a = new LabAddresses(ctx).annotate(e);
  t.deepEqual(a.service, { namespace: 'default', name: 'web', via: 'ClusterIP' });
  t.deepEqual(a.dnat, { address: '10.42.2.2:8080', ip: '10.42.2.2', port: 8080, pod: WEB_PODS.get('10.42.2.2'), who: `pod ${WEB_PODS.get('10.42.2.2')}` });
  t.deepEqual(a.snat, { address: '10.42.0.0:16641', ip: '10.42.0.0', port: 16641, who: "server's flannel.1" });
  t.is(describeNat(a), `DNAT to pod 10.42.2.2:8080 (${WEB_PODS.get('10.42.2.2')}); SNAT (masquerade) as 10.42.0.0:16641 (server's flannel.1)`);
});

test('[UNREPLIED] between the tuples, and a protocol without ports (IGMP)', (t) => {
  const vxlan = parseConntrackLine('udp      17 29 src=192.168.100.12 dst=192.168.100.10 sport=59382 dport=8472 [UNREPLIED] src=192.168.100.10 dst=192.168.100.12 sport=8472 dport=59382 mark=0 use=1');
  t.is(vxlan.state, undefined);
  t.deepEqual(vxlan.flags, ['UNREPLIED']);
  t.deepEqual(vxlan.reply, { src: '192.168.100.10', dst: '192.168.100.12', sport: 8472, dport: 59382 });
  t.is(describeNat(new LabAddresses(ctx).annotate(vxlan)), '-');
  const igmp = parseConntrackLine('unknown  2 573 src=10.42.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.42.0.1 mark=0 use=1');
  t.is(igmp.protocol, 'unknown');
  t.deepEqual(igmp.original, { src: '10.42.0.1', dst: '224.0.0.22' });
  t.is(tupleText(igmp.reply), '224.0.0.22 -> 10.42.0.1');
});

test('-o extended,id: the family prefix, ICMP type/code/id, and the entry id kept apart', (t) => {
  const icmp = parseConntrack(read('server-extended-id.txt')).entries.find((e) => e.protocol === 'icmp')!;
  t.is(icmp.family, 'ipv4');
  t.deepEqual(icmp.original, { src: '10.42.0.0', dst: '10.42.2.2', type: 8, code: 0, id: 78 });
  t.deepEqual(icmp.reply, { src: '10.42.2.2', dst: '10.42.0.0', type: 0, code: 0, id: 78 });
  t.deepEqual(icmp.extra, { id: '717314160' });
  t.is(tupleText(icmp.original), '10.42.0.0 -> 10.42.2.2 (type 8 code 0 id 78)');
});

test('an empty table, the stderr summary and unreadable lines', (t) => {
  t.deepEqual(parseConntrack(read('empty.txt')), { entries: [], problems: [] });
  t.deepEqual(parseConntrack(read('empty.stderr')), { entries: [], problems: [] }, 'the summary conntrack writes to stderr, if the streams are merged');
  const { entries, problems } = parseConntrack('tcp 6 10 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1\nnonsense here\ntcp 6 10 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2\n');
  t.is(entries.length, 1);
  t.deepEqual(problems.map((p) => [p.line, p.message]), [
    [2, 'expected "PROTOCOL NUMBER TIMEOUT" at the start'],
    [3, 'no reply tuple (a second src=, dst=)'],
  ]);
});

test('--svc web on the server: every connection to its ClusterIP (any port) or NodePort, each DNATed to a web pod', (t) => {
  const { entries, hidden } = selectEntries(parseConntrack(read('server.txt')).entries, ctx, { namespace: 'default', name: 'web' });
  t.is(entries.length, 14); // 10 tcp + 2 udp to the ClusterIP, 2 from the lan machine to NodePort 30080
  t.is(hidden, lines('server.txt').length - 14);
  for (const e of entries) {
    t.true(e.original.dst === CLUSTER_IP || (e.original.dst === '192.168.100.10' && e.original.dport === 30080), tupleText(e.original));
    t.true(WEB_PODS.has(e.reply.src), tupleText(e.reply));
    t.is(e.dnat?.pod, WEB_PODS.get(e.reply.src));
  }
  t.deepEqual([...new Set(entries.map((e) => `${e.protocol}/${e.original.dport}`))].sort(), ['tcp/30080', 'tcp/80', 'udp/8081']);
  const fromLan = entries.filter((e) => e.service?.via === 'NodePort');
  t.is(fromLan.length, 2);
  t.true(fromLan.every((e) => e.original.src === '192.168.100.1' && e.names['192.168.100.1'] === 'lan machine' && e.snat !== undefined));
});

test('DNS from a pod on agent-1: DNAT to CoreDNS on the server, no masquerade', (t) => {
  const { entries } = selectEntries(parseConntrack(read('agent-1.txt')).entries, ctx, { namespace: 'kube-system', name: 'kube-dns' });
  t.is(entries.length, 8);
  const coredns = lab.pods.find((p) => p.metadata.name.startsWith('coredns'))!;
  for (const e of entries) {
    t.is(e.dnat?.address, `${coredns.status!.podIP}:53`);
    t.is(e.dnat?.pod, `kube-system/${coredns.metadata.name}`);
    t.is(e.snat, undefined);
    t.is(e.names[e.original.src], `pod ${WEB_PODS.get(e.original.src)}`);
  }
});

test('only lab traffic is kept; translated entries come first', (t) => {
  const outside = parseConntrackLine('tcp 6 100 ESTABLISHED src=172.17.0.2 dst=8.8.8.8 sport=5000 dport=443 src=8.8.8.8 dst=172.17.0.2 sport=443 dport=5000 [ASSURED] mark=0 use=1');
  const all = [...parseConntrack(read('server.txt')).entries, outside];
  const { entries, hidden } = selectEntries(all, ctx);
  t.is(hidden, 1);
  t.is(entries.length, all.length - 1);
  const firstPlain = entries.findIndex((e) => !e.dnat && !e.snat);
  t.true(firstPlain > 0 && entries.slice(firstPlain).every((e) => !e.dnat && !e.snat));
});

test('the table puts the tuples side by side and says what the kernel did', (t) => {
  const { entries, hidden } = selectEntries(parseConntrack(read('server.txt')).entries, ctx, { namespace: 'default', name: 'web' });
  const table = formatConntrackTable(entries).split('\n');
  t.regex(table[0]!, /^PROTO\s+STATE\s+TIMEOUT\s+ORIGINAL \(SRC -> DST\)\s+REPLY \(SRC -> DST\)\s+WHAT THE KERNEL DID$/);
  const row = table.find((l) => l.includes(':40906 '))!;
  t.is(row.replace(/\s+/g, ' '), `tcp ESTABLISHED [ASSURED] 431999s 192.168.100.10:40906 -> 10.43.39.238:80 (svc web) 10.42.2.2:8080 -> 10.42.0.0:16641 DNAT to pod 10.42.2.2:8080 (${WEB_PODS.get('10.42.2.2')}); SNAT (masquerade) as 10.42.0.0:16641 (server's flannel.1)`);
  t.true(table.some((l) => l.includes('-> 192.168.100.10:30080 (svc web NodePort)')));
  const summary = formatSummary(buildReport({ lab: 'x', node: 'server', netns: 'n', service: 'default/web', problems: [] }, { entries, hidden }));
  t.deepEqual(summary, ['14 entries for svc default/web on node server, 14 translated by the kernel (NAT).', `${hidden} other entries hidden (other traffic).`]);
});

test('nothing for the Service yet: the summary says how to make some', (t) => {
  const summary = formatSummary(buildReport({ lab: 'x', node: 'server', netns: 'n', service: 'shop/cart', problems: [] }, { entries: [], hidden: 3 }));
  t.is(summary[0], 'No conntrack entries for svc shop/cart on node server.');
  t.regex(summary[1]!, /knetlab curl --namespace shop svc\/cart\b/);
});
