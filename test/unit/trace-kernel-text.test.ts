// The kernel-facing text of a trace, without root: the TRACE rules it writes and finds again
// (from a real `iptables -t mangle -S` after iptables-nft's round trip), conntrack's listing, the
// handle-to-comment zip of `nft -a list ruleset` and `iptables-save` (real listings of a lab's
// server node), and the monitor's readiness check on /proc/PID/net/netlink.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { annotateHops, mapHandles, parseNftHandles } from '../../src/trace/comments.js';
import type { Hop } from '../../src/trace/types.js';
import { isDestinationNatted, isSourceNatted, parseConntrack } from '../../src/trace/conntrack.js';
import { hasTraceSocket } from '../../src/trace/monitor.js';
import { parseTraceRule, selectTraceRules, traceRules, TRACE_RULE_TTL_SECONDS } from '../../src/trace/rules.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/trace/${name}`, import.meta.url), 'utf8');

const NODES = [
  { name: 'server', netns: 'kn.l.node.server', ip: '192.168.100.10', podCIDR: '10.42.0.0/24' },
  { name: 'agent-1', netns: 'kn.l.node.agent-1', ip: '192.168.100.11', podCIDR: '10.42.1.0/24' },
];

test('the TRACE rules: the connection everywhere, masqueraded arrivals only on the endpoint\'s node, an expiry in the comment', (t) => {
  const now = 1_700_000_000_000;
  const set = traceRules(NODES, { protocol: 'tcp', client: { ip: '10.42.0.3', port: 41460 }, endpoints: [{ ip: '10.42.1.2', port: 8080, node: 'agent-1' }], now }, 'c0ffee01');
  const until = now / 1000 + TRACE_RULE_TTL_SECONDS;
  const comment = `-m comment --comment "knetlab trace c0ffee01 until ${until}" -j TRACE`;
  t.is(set.until, until);
  t.deepEqual(set.byNode.get('server'), [
    `-I PREROUTING 1 -m conntrack --ctproto tcp --ctorigsrc 10.42.0.3 --ctorigsrcport 41460 ${comment}`,
    `-I OUTPUT 1 -m conntrack --ctproto tcp --ctorigsrc 10.42.0.3 --ctorigsrcport 41460 ${comment}`,
  ]);
  t.deepEqual(set.byNode.get('agent-1'), [
    `-I PREROUTING 1 -m conntrack --ctproto tcp --ctorigsrc 10.42.0.3 --ctorigsrcport 41460 ${comment}`,
    `-I PREROUTING 1 -p tcp -m conntrack --ctorigdst 10.42.1.2 --ctorigdstport 8080 ! --ctorigsrc 10.42.1.0/24 ${comment}`,
    `-I OUTPUT 1 -m conntrack --ctproto tcp --ctorigsrc 10.42.0.3 --ctorigsrcport 41460 ${comment}`,
    `-I OUTPUT 1 -p tcp -m conntrack --ctorigdst 10.42.1.2 --ctorigdstport 8080 ! --ctorigsrc 10.42.1.0/24 ${comment}`,
  ]);
});

test('the rules are found again in iptables-nft\'s own listing, which reorders their options', (t) => {
  const listing = fixture('mangle-with-trace-rules.txt');
  const deletes = selectTraceRules(listing, (r) => r.id === 'c0ffee01');
  t.is(deletes.length, 4);
  t.true(deletes.every((d) => d.startsWith('-D PREROUTING ') || d.startsWith('-D OUTPUT ')));
  t.true(deletes.some((d) => d.includes('--ctproto 6 --ctorigsrc 10.42.0.3 --ctorigsrcport 41460')), 'iptables -S prints the protocol number');
  t.deepEqual(selectTraceRules(listing, (r) => r.id === 'someone-else'), []);
  const [first] = listing.split('\n').filter((l) => l.includes('knetlab trace'));
  t.deepEqual(parseTraceRule(first!), { id: 'c0ffee01', until: 1795810111 });
});

test('a sweep picks expired rules only, and leaves other TRACE rules alone', (t) => {
  const listing = [
    '-P PREROUTING ACCEPT',
    '-A PREROUTING -m conntrack --ctproto 6 --ctorigsrc 10.42.0.3 --ctorigsrcport 41460 -m comment --comment "knetlab trace aaaa0001 until 100" -j TRACE',
    '-A PREROUTING -m conntrack --ctproto 6 --ctorigsrc 10.42.0.3 --ctorigsrcport 41461 -m comment --comment "knetlab trace aaaa0002 until 300" -j TRACE',
    '-A PREROUTING -p tcp -j TRACE',
    '-A PREROUTING -m comment --comment "knetlab trace aaaa0003 until 100" -j ACCEPT',
  ].join('\n');
  t.deepEqual(
    selectTraceRules(listing, (r) => r.until < 200).map((d) => d.slice(0, 60)),
    ['-D PREROUTING -m conntrack --ctproto 6 --ctorigsrc 10.42.0.3 --ctorigsrcport 41460'.slice(0, 60)],
  );
  t.is(selectTraceRules(listing, () => true).length, 2);
});

test('conntrack -L: both tuples, state and flags; which side was NATed', (t) => {
  const text = [
    'tcp      6 119 TIME_WAIT src=192.168.100.1 dst=192.168.100.10 sport=45124 dport=30080 src=10.42.2.2 dst=10.42.0.0 sport=8080 dport=40443 [ASSURED] mark=0 use=1',
    'udp      17 29 src=10.42.0.3 dst=10.43.39.238 sport=40577 dport=8081 src=10.42.1.2 dst=10.42.0.3 sport=8081 dport=40577 mark=0 use=1',
    'udp      17 29 src=192.168.100.11 dst=192.168.100.10 sport=46771 dport=8472 [UNREPLIED] src=192.168.100.10 dst=192.168.100.11 sport=8472 dport=46771 mark=0 use=1',
    'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.',
  ].join('\n');
  const [nodePort, udp, vxlan] = parseConntrack('server', text);
  t.deepEqual(nodePort, {
    node: 'server',
    protocol: 'tcp',
    state: 'TIME_WAIT',
    original: { src: '192.168.100.1', dst: '192.168.100.10', sport: 45124, dport: 30080 },
    reply: { src: '10.42.2.2', dst: '10.42.0.0', sport: 8080, dport: 40443 },
    flags: ['ASSURED'],
  });
  t.true(isSourceNatted(nodePort!) && isDestinationNatted(nodePort!));
  t.true(isDestinationNatted(udp!) && !isSourceNatted(udp!));
  t.deepEqual(vxlan!.flags, ['UNREPLIED']);
  t.false(isSourceNatted(vxlan!) || isDestinationNatted(vxlan!));
});

test('nft handles zip with iptables-save rules chain by chain, giving back kube-proxy\'s comments', (t) => {
  const nft = fixture('server-nft-ruleset.txt');
  const save = fixture('server-iptables-save.txt');
  const handles = parseNftHandles(nft);
  t.true((handles.get('nat')?.get('KUBE-SERVICES')?.length ?? 0) > 3);
  const rules = mapHandles('server', nft, save);
  const svc = rules.find((r) => r.table === 'nat' && r.chain === 'KUBE-SVC-CDGGSHYLG3RE2FKL' && r.rule.includes('KUBE-SEP-PLLJBTOKCJEJKQRV'));
  t.is(svc?.comment, 'default/web:http -> 10.42.1.2:8080');
  const reject = rules.find((r) => r.table === 'filter' && r.rule.includes('-j REJECT'));
  t.is(reject?.comment, 'default/empty has no endpoints');
  // Every handle of every zipped chain is unique within its table.
  for (const table of ['nat', 'filter']) {
    const own = rules.filter((r) => r.table === table).map((r) => r.handle);
    t.is(new Set(own).size, own.length);
  }
});

test('a rule nft no longer knows (synced after the monitor started) gets its DNAT from its iptables form', (t) => {
  const rules = mapHandles('server', fixture('server-nft-ruleset.txt'), fixture('server-iptables-save.txt'));
  const dnat = rules.find((r) => r.table === 'nat' && r.rule.includes('-j DNAT'))!;
  const hop: Hop = { family: 'ip', table: 'nat', chain: dnat.chain, kind: 'rule', verdict: 'accept', handle: dnat.handle };
  annotateHops('server', [hop], rules);
  t.deepEqual(hop.nat, { kind: 'dnat', to: /--to-destination (\S+)/.exec(dnat.rule)![1] });
  t.regex(hop.comment ?? '', /^default\/\w+:\w+$/, 'kube-proxy\'s comment, which nft cannot print');
});

test('a chain whose two listings differ (a resync in between) is left out, not mismatched', (t) => {
  const nft = 'table ip nat {\n\tchain KUBE-SERVICES { # handle 2\n\t\tcounter jump KUBE-SVC-A # handle 10\n\t\tcounter jump KUBE-SVC-B # handle 11\n\t}\n}\n';
  const save = '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n-A KUBE-SERVICES -m comment --comment "only one" -j KUBE-SVC-A\nCOMMIT\n';
  t.deepEqual(mapHandles('n', nft, save), []);
});

test('the monitor is ready when its NETLINK_NETFILTER socket has joined the trace group', (t) => {
  const table = [
    'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
    '00000000c9d613e2 0   0          00000000 0        0        0     2        0        755881  ',
    '00000000cdeedbde 12  22353      00000100 0        0        0     2        0        767515  ',
    '000000008e1afc78 12  0          00000000 0        0        0     2        0        755888  ',
  ].join('\n');
  t.true(hasTraceSocket(table, new Set(['767515'])));
  t.false(hasTraceSocket(table, new Set(['755888'])), 'a netfilter socket not in the trace group');
  t.false(hasTraceSocket(table, new Set(['999'])), 'another process\'s socket');
});
