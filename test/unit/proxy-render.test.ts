// kube-proxy's rules for one node, compared as text: golden files under test/fixtures/proxy/ for
// the Service shapes of upstream's proxier_test.go, and upstream's own expected text for
// TestOverallIPTablesRules. Each golden file is also replayed through the restore model, so a
// text that iptables-restore would refuse (a jump to a missing chain) fails here without root.
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProxyObjects } from '../../src/proxy/from-objects.js';
import { applyRestore, parseIptablesSave, RestoreError } from '../../src/proxy/iptables-save.js';
import { renderFullSync, renderJumpRules, renderSync } from '../../src/proxy/render.js';
import { probability } from '../../src/proxy/rules-text.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/proxy/', import.meta.url));
const TEST_NODE: NodeContext = { nodeName: 'test-node', nodeIPs: ['192.168.0.2'], clusterCIDR: '10.0.0.0/8' };

async function snapshotOf(yaml: string): Promise<ProxySnapshot> {
  return (await loadProxyObjects([`${FIXTURES}${yaml}.yaml`])).snapshot;
}

/** The golden file's text; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function golden(name: string, actual: string): string {
  const file = `${FIXTURES}${name}.rules`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  return existsSync(file) ? readFileSync(file, 'utf8') : `(missing golden file ${file})`;
}

const goldenCases: { name: string; yaml?: string; node?: Partial<NodeContext> }[] = [
  { name: 'clusterip-one-endpoint' },
  { name: 'clusterip-three-endpoints' },
  { name: 'no-endpoints' },
  { name: 'nodeport' },
  { name: 'etp-local' },
  { name: 'etp-local-remote', yaml: 'etp-local', node: { nodeName: 'third-node' } },
  { name: 'session-affinity' },
  { name: 'udp' },
  { name: 'multi-port' },
  { name: 'headless' },
  { name: 'system-services', node: { nodeName: 'server', clusterCIDR: '10.42.0.0/16' } },
];

for (const c of goldenCases) {
  test(`golden: ${c.name}`, async (t) => {
    const text = renderFullSync(await snapshotOf(c.yaml ?? c.name), { ...TEST_NODE, ...c.node });
    t.is(text, golden(c.name, text));
    // What iptables-restore would say: every jump target exists, every table commits.
    t.notThrows(() => applyRestore(parseIptablesSave(renderJumpRules()), text));
  });
}

/**
 * Upstream's sortIPTablesRules layout: per table, KUBE-NODEPORTS, KUBE-SERVICES and
 * KUBE-EXTERNAL-SERVICES first, then the other chains by name; each chain's rules in order.
 */
function sortLikeUpstream(text: string): string {
  const first = ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES'];
  const rank = (chain: string): string => (first.includes(chain) ? `0${first.indexOf(chain)}` : `1${chain}`);
  let out = '';
  for (const section of text.split(/(?<=^COMMIT\n)/m)) {
    const lines = section.split('\n').filter(Boolean);
    const chains = lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
    chains.sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
    const rules = (chain: string): string[] => lines.filter((l) => l.startsWith(`-A ${chain} `));
    out += [lines[0], ...chains.map((c) => `:${c} - [0:0]`), ...chains.flatMap(rules), 'COMMIT'].join('\n') + '\n';
  }
  return out;
}

test("upstream's TestOverallIPTablesRules, less load balancers and externalIPs, gives upstream's text", async (t) => {
  const text = renderFullSync(await snapshotOf('upstream-overall'), TEST_NODE);
  t.is(sortLikeUpstream(text), readFileSync(`${FIXTURES}upstream-overall.rules`, 'utf8'));
});

function clusterIPService(i: number, endpoints: number): ServiceSnapshot {
  return {
    service: { namespace: 'ns', name: `svc${i}`, portName: 'http', protocol: 'TCP', clusterIP: `172.30.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' },
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ ip: `10.180.${i >> 8}.${(i & 255) + j}`, port: 8080, ready: true })),
  };
}

test('over 1,000 endpoints (large cluster mode) KUBE-SEP rules and SVC->SEP jumps lose their comments, as upstream', (t) => {
  const small = renderSync({ services: [clusterIPService(1, 3)] }, TEST_NODE).transactions.join('');
  t.regex(small, /-A KUBE-SEP-\S+ -m comment --comment ns\/svc1:http -s /);
  const big = renderSync({ services: Array.from({ length: 334 }, (_, i) => clusterIPService(i + 1, 3)) }, TEST_NODE).transactions.join('');
  const sepLines = big.split('\n').filter((l) => l.startsWith('-A KUBE-SEP-'));
  t.true(sepLines.length === 334 * 3 * 2);
  t.false(sepLines.some((l) => l.includes('--comment')), 'no KUBE-SEP rule keeps its comment');
  t.regex(big, /-A KUBE-SVC-\S+ -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-/);
  t.regex(big, /-A KUBE-SVC-\S+ -m comment --comment "ns\/svc1:http cluster IP" .* -j KUBE-MARK-MASQ/, 'the masquerade rule keeps its comment');
});

test("probabilities are Go's %0.10f of 1/n, ties rounded to even", (t) => {
  t.is(probability(2), '0.5000000000');
  t.is(probability(3), '0.3333333333');
  t.is(probability(6), '0.1666666667');
  t.is(probability(7), '0.1428571429');
  t.is(probability(2048), '0.0004882812'); // exactly 0.00048828125: Go rounds to even
  t.is(probability(1000), '0.0010000000');
});

test('the jump rules insert kube-proxy chains into the built-in chains, with the canary in three tables', (t) => {
  const rules = parseIptablesSave(renderJumpRules());
  for (const table of ['mangle', 'nat', 'filter']) t.true(rules.get(table)?.has('KUBE-PROXY-CANARY'), table);
  const jumps = (table: string, chain: string): string[] => rules.get(table)!.get(chain)!.rules.map((r) => r.args.join(' '));
  t.deepEqual(jumps('nat', 'PREROUTING'), ['-m comment --comment kubernetes service portals -j KUBE-SERVICES']);
  t.deepEqual(jumps('nat', 'POSTROUTING'), ['-m comment --comment kubernetes postrouting rules -j KUBE-POSTROUTING']);
  // Each jump is prepended, so the last one upstream ensures comes first.
  t.deepEqual(jumps('filter', 'INPUT'), [
    '-j KUBE-FIREWALL',
    '-m conntrack --ctstate NEW -m comment --comment kubernetes load balancer firewall -j KUBE-PROXY-FIREWALL',
    '-m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS',
    '-m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES',
  ]);
});

test('a transaction that jumps to a missing chain is refused by the restore model', (t) => {
  const text = '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-MISSING\nCOMMIT\n';
  t.throws(() => applyRestore(new Map(), text), { instanceOf: RestoreError, message: /KUBE-SVC-MISSING/ });
});
