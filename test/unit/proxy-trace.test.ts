// Virtual packets through kube-proxy's rules, table-driven like upstream's runPacketFlowTests:
// who gets DNATed where, who is masqueraded, who is rejected or dropped. The rules are the
// renderer's own output (plus the jump rules), replayed through the restore model.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { loadProxyObjects } from '../../src/proxy/from-objects.js';
import { applyRestore, parseIptablesSave, type Ruleset } from '../../src/proxy/iptables-save.js';
import { renderJumpRules, renderSync } from '../../src/proxy/render.js';
import { tracePacket, type TraceOptions } from '../../src/proxy/trace.js';
import type { NodeContext } from '../../src/proxy/types.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/proxy/', import.meta.url));
const NODE_IP = '192.168.0.2';
const EXTERNAL_CLIENT = '203.0.113.2';
const TEST_NODE: NodeContext = { nodeName: 'test-node', nodeIPs: [NODE_IP], clusterCIDR: '10.0.0.0/8' };

async function nodeRules(yaml: string, node: NodeContext = TEST_NODE): Promise<Ruleset> {
  const { snapshot } = await loadProxyObjects([`${FIXTURES}${yaml}.yaml`]);
  const rules = parseIptablesSave(renderJumpRules());
  for (const text of renderSync(snapshot, node).transactions) applyRestore(rules, text);
  return rules;
}

interface FlowCase {
  name: string;
  src: string;
  dst: string;
  port: number;
  protocol?: string;
  /** Possible DNAT destinations, or a filter verdict. */
  output: string;
  masq: boolean;
  options?: TraceOptions;
}

function runFlows(title: string, yaml: string, cases: FlowCase[], node?: NodeContext): void {
  for (const c of cases) {
    test(`${title}: ${c.name}`, async (t) => {
      const rules = await nodeRules(yaml, node);
      const result = tracePacket(rules, { srcIP: c.src, dstIP: c.dst, dstPort: c.port, protocol: c.protocol ?? 'tcp', localAddresses: [NODE_IP] }, c.options);
      const output = result.verdict === 'DROP' || result.verdict === 'REJECT' ? result.verdict : result.destinations.join(', ');
      t.is(output, c.output, `matched:\n${result.matched.join('\n')}`);
      t.is(result.masqueraded, c.masq, `matched:\n${result.matched.join('\n')}`);
      t.is(result.rejected, c.output === 'REJECT');
    });
  }
}

runFlows('upstream-overall', 'upstream-overall', [
  { name: 'no match', src: '10.0.0.2', dst: '10.0.0.3', port: 80, output: '', masq: false },
  { name: 'pod to ClusterIP, single endpoint', src: '10.0.0.2', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: false },
  { name: 'pod to ClusterIP, wrong port', src: '10.0.0.2', dst: '172.30.0.41', port: 81, output: '', masq: false },
  { name: 'pod to ClusterIP, wrong protocol', src: '10.0.0.2', dst: '172.30.0.41', port: 80, protocol: 'udp', output: '', masq: false },
  { name: 'multiple endpoints: every one is possible', src: '10.0.0.2', dst: '172.30.0.44', port: 80, output: '10.180.0.4:80, 10.180.0.5:80', masq: false },
  { name: 'off-cluster source to ClusterIP is masqueraded', src: EXTERNAL_CLIENT, dst: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: true },
  { name: 'hairpin: endpoint to its own Service is masqueraded', src: '10.180.0.1', dst: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: true },
  { name: 'no endpoints: REJECT', src: '10.0.0.2', dst: '172.30.0.46', port: 80, output: 'REJECT', masq: false },
  { name: 'external to NodePort (Cluster policy) is masqueraded', src: EXTERNAL_CLIENT, dst: NODE_IP, port: 3003, output: '10.180.0.3:80', masq: true },
  { name: 'pod to NodePort (Cluster policy) is masqueraded', src: '10.0.0.2', dst: NODE_IP, port: 3003, output: '10.180.0.3:80', masq: true },
  { name: 'node to its own NodePort via localhost', src: '127.0.0.1', dst: '127.0.0.1', port: 3003, output: '10.180.0.3:80', masq: true },
  { name: 'external to NodePort, Local policy, no local endpoint: DROP', src: EXTERNAL_CLIENT, dst: NODE_IP, port: 3001, output: 'DROP', masq: false },
  { name: 'pod to NodePort, Local policy, short-circuited to the cluster-wide chain', src: '10.0.0.2', dst: NODE_IP, port: 3001, output: '10.180.0.2:80', masq: false },
  { name: 'node to NodePort, Local policy, masqueraded', src: NODE_IP, dst: NODE_IP, port: 3001, output: '10.180.0.2:80', masq: true },
  { name: 'session affinity: a new client spreads like any other', src: '10.0.0.2', dst: '172.30.0.45', port: 80, output: '10.180.0.3:80', masq: false },
  { name: 'a node port that no Service has', src: EXTERNAL_CLIENT, dst: NODE_IP, port: 3999, output: '', masq: false },
]);

runFlows('etp-local with a local endpoint', 'etp-local', [
  { name: 'external to NodePort reaches only the local endpoint and keeps its source', src: EXTERNAL_CLIENT, dst: NODE_IP, port: 3001, output: '10.180.0.2:80', masq: false },
  { name: 'pod to NodePort may reach any endpoint', src: '10.0.0.2', dst: NODE_IP, port: 3001, output: '10.180.0.2:80, 10.180.1.2:80', masq: false },
  { name: 'pod to ClusterIP may reach any endpoint', src: '10.0.0.2', dst: '172.30.0.42', port: 80, output: '10.180.0.2:80, 10.180.1.2:80', masq: false },
]);

runFlows('session-affinity', 'session-affinity', [
  { name: 'a client with history may go to any endpoint it was sent to', src: '10.0.0.2', dst: '172.30.0.45', port: 80, output: '10.180.0.3:80, 10.180.0.4:80', masq: false, options: { affinity: 'maybe' } },
  { name: 'a new client', src: '10.0.0.2', dst: '172.30.0.45', port: 80, output: '10.180.0.3:80, 10.180.0.4:80', masq: false },
]);

runFlows('udp', 'udp', [
  { name: 'UDP to the ClusterIP', src: '10.0.0.2', dst: '172.30.0.50', port: 514, protocol: 'udp', output: '10.180.0.7:5514', masq: false },
  { name: 'TCP to a UDP Service', src: '10.0.0.2', dst: '172.30.0.50', port: 514, protocol: 'tcp', output: '', masq: false },
]);

test('the trace names the chains it went through, in order', async (t) => {
  const rules = await nodeRules('clusterip-one-endpoint');
  const result = tracePacket(rules, { srcIP: '10.0.0.2', dstIP: '172.30.0.41', dstPort: 80, protocol: 'tcp', localAddresses: [NODE_IP] });
  t.deepEqual(result.chains.slice(0, 4), ['nat/PREROUTING', 'nat/KUBE-SERVICES', 'nat/KUBE-SVC-XPGD46QRK7WJZT7O', 'nat/KUBE-SEP-SXIVWICOYRO3J4NJ']);
  t.true(result.chains.includes('filter/FORWARD'));
  t.true(result.chains.includes('nat/KUBE-POSTROUTING'));
  t.false(result.marked);
});

test('from the OUTPUT hook the node itself reaches a ClusterIP, masqueraded (its source is not a pod address)', async (t) => {
  const rules = await nodeRules('clusterip-one-endpoint');
  const result = tracePacket(rules, { srcIP: NODE_IP, dstIP: '172.30.0.41', dstPort: 80, protocol: 'tcp', localAddresses: [NODE_IP] }, { hook: 'OUTPUT' });
  t.is(result.chains[0], 'nat/OUTPUT');
  t.deepEqual(result.destinations, ['10.180.0.1:80']);
  t.true(result.marked);
  t.true(result.masqueraded);
});

test('the tracer reads iptables-save text as the kernel prints it', (t) => {
  const saved = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-A - [0:0]
[3:180] -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
[1:60] -A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SVC-A -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m comment --comment "ns1/svc1:p80" -m tcp -j DNAT --to-destination 10.180.0.1:80
COMMIT
`;
  const result = tracePacket(parseIptablesSave(saved), { srcIP: '10.0.0.2', dstIP: '172.30.0.41', dstPort: 80, protocol: 'tcp', localAddresses: [] });
  t.deepEqual(result.destinations, ['10.180.0.1:80']);
});
