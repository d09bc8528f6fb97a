// The dataplane's pure core: the plan a config becomes, the names of every kernel object, and the
// exact `ip -batch` text that builds a lab. No root and no namespaces: only strings are compared.
import test, { type ExecutionContext } from 'ava';
import { DEFAULT_CONFIG_YAML } from '../../src/config/default.js';
import { parseConfig } from '../../src/config/load.js';
import type { FlannelBackend, LabConfig } from '../../src/config/types.js';
import { PodIPAllocator } from '../../src/ipam/pod-ips.js';
import type { IpBatch } from '../../src/kernel/ip.js';
import { labPrefix, lanNetns, lanPortName, nodeNetns, podNetns, podVethName, vtepMac } from '../../src/dataplane/names.js';
import { nodeFingerprint, planLab, type LabPlan, type NodePlan } from '../../src/dataplane/plan.js';
import {
  renderLan,
  renderLanPorts,
  renderNetnsAdd,
  renderNetnsDelete,
  renderNode,
  renderOverlay,
  renderPodInside,
  renderPodMtu,
  renderPodPorts,
  type PodWiring,
} from '../../src/dataplane/render.js';
import { goldenPath, matchesGolden } from '../helpers/golden.js';
import { existsSync } from 'node:fs';

const LAB = 'lab1';
const IFNAMSIZ = 15;

function defaultConfig(): LabConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, '<default config>').config;
}

const CUSTOM_YAML = `cluster-cidr: 172.20.0.0/16
node-cidr-mask-size-ipv4: 24
lan-cidr: 10.99.0.0/24
nodes:
  - name: cp
    role: server
  - name: w1
    role: agent
    labels: {zone: a}
  - name: w2
    role: agent
  - name: w3
    role: agent
`;

function customConfig(): LabConfig {
  return parseConfig(CUSTOM_YAML, 'custom.yaml').config;
}

function withBackend(config: LabConfig, backend: FlannelBackend): LabConfig {
  return { ...config, flannelBackend: backend };
}

/** What `ip` (or `bridge`) would be run with, as a reader would type it. */
function showBatch(batch: IpBatch): string {
  const tool = batch.tool ?? 'ip';
  const header = batch.netns ? `# ${tool} -n ${batch.netns} -batch -` : `# ${tool} -batch -`;
  return [header, ...batch.lines].join('\n') + '\n';
}

function wire(plan: LabPlan, namespace: string, pod: string, node: NodePlan, ip: string): PodWiring {
  const netns = podNetns(plan.lab, namespace, pod);
  return { netns, veth: podVethName(netns), ip, node };
}

/** Every batch, in the agent's order (Cluster.createLan, createNodes, Sandboxes.create), for the lab plus pods. */
function labBatches(plan: LabPlan, pods: PodWiring[]): IpBatch[] {
  const nodes = [...new Set(pods.map((p) => p.node))];
  return [
    renderNetnsAdd([plan.lan.netns]),
    renderLan(plan),
    renderNetnsAdd(plan.nodes.map((n) => n.netns)),
    renderLanPorts(plan, plan.nodes),
    ...plan.nodes.map((n) => renderNode(plan, n)),
    ...plan.nodes.flatMap((n) => renderOverlay(plan, n)),
    renderNetnsAdd(pods.map((p) => p.netns)),
    ...nodes.map((n) => renderPodPorts(n, pods.filter((p) => p.node === n))),
    ...pods.map(renderPodInside),
  ];
}

// --- the plan ---

test('default config: LAN, node IPs .10-.12, pod CIDRs 10.42.0-2.0/24 with gateways .1', (t) => {
  const plan = planLab(LAB, defaultConfig());
  t.is(plan.lab, LAB);
  t.deepEqual(plan.lan, { netns: 'kn.lab1.lan', cidr: '192.168.100.0/24', prefix: 24, ip: '192.168.100.1' });
  t.is(plan.clusterCIDR, '10.42.0.0/16');
  t.deepEqual(
    plan.nodes.map((n) => [n.name, n.role, n.netns, n.ip, n.lanPort, n.podCIDR, n.gateway]),
    [
      ['server', 'server', 'kn.lab1.node.server', '192.168.100.10', 'n-server', '10.42.0.0/24', '10.42.0.1'],
      ['agent-1', 'agent', 'kn.lab1.node.agent-1', '192.168.100.11', 'n-agent-1', '10.42.1.0/24', '10.42.1.1'],
      ['agent-2', 'agent', 'kn.lab1.node.agent-2', '192.168.100.12', 'n-agent-2', '10.42.2.0/24', '10.42.2.1'],
    ],
  );
});

test('every namespace of the plan carries the lab prefix kn.LAB.', (t) => {
  const plan = planLab(LAB, defaultConfig());
  t.is(labPrefix(LAB), 'kn.lab1.');
  for (const netns of [plan.lan.netns, ...plan.nodes.map((n) => n.netns)]) t.true(netns.startsWith('kn.lab1.'), netns);
  t.is(lanNetns(LAB), 'kn.lab1.lan');
  t.is(nodeNetns(LAB, 'agent-1'), 'kn.lab1.node.agent-1');
  t.is(podNetns(LAB, 'default', 'web'), 'kn.lab1.pod.default.web');
});

test('node labels: k3s well-known labels, control-plane/master only on the server, user labels kept', (t) => {
  const plan = planLab(LAB, customConfig());
  const [cp, w1] = plan.nodes;
  t.is(cp!.labels['kubernetes.io/hostname'], 'cp');
  t.is(cp!.labels['kubernetes.io/os'], 'linux');
  t.is(cp!.labels['node-role.kubernetes.io/control-plane'], 'true');
  t.is(cp!.labels['node-role.kubernetes.io/master'], 'true');
  t.is(w1!.labels['node-role.kubernetes.io/control-plane'], undefined);
  t.is(w1!.labels['node-role.kubernetes.io/master'], undefined);
  t.is(w1!.labels.zone, 'a');
  t.is(w1!.labels['kubernetes.io/hostname'], 'w1');
});

test('custom 4-node config: 172.20.0.0/16 cut into /24s, LAN 10.99.0.0/24', (t) => {
  const plan = planLab('big', customConfig());
  t.deepEqual(plan.lan, { netns: 'kn.big.lan', cidr: '10.99.0.0/24', prefix: 24, ip: '10.99.0.1' });
  t.is(plan.clusterCIDR, '172.20.0.0/16');
  t.deepEqual(
    plan.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.gateway]),
    [
      ['cp', '10.99.0.10', '172.20.0.0/24', '172.20.0.1'],
      ['w1', '10.99.0.11', '172.20.1.0/24', '172.20.1.1'],
      ['w2', '10.99.0.12', '172.20.2.0/24', '172.20.2.1'],
      ['w3', '10.99.0.13', '172.20.3.0/24', '172.20.3.1'],
    ],
  );
  const w3 = renderNode(plan, plan.nodes[3]!);
  t.is(w3.netns, 'kn.big.node.w3');
  t.true(w3.lines.includes('addr add 10.99.0.13/24 dev eth0'));
  t.true(w3.lines.includes('addr add 172.20.3.1/24 dev cni0'));
});

test('a /25 node mask gives /25 pod subnets and /25 addresses on cni0 and in pods', (t) => {
  const config = { ...defaultConfig(), nodeCIDRMaskSize: 25 };
  const plan = planLab(LAB, config);
  t.deepEqual(plan.nodes.map((n) => n.podCIDR), ['10.42.0.0/25', '10.42.0.128/25', '10.42.1.0/25']);
  t.deepEqual(plan.nodes.map((n) => n.gateway), ['10.42.0.1', '10.42.0.129', '10.42.1.1']);
  const agent1 = plan.nodes[1]!;
  t.true(renderNode(plan, agent1).lines.includes('addr add 10.42.0.129/25 dev cni0'));
  t.deepEqual(renderPodInside(wire(plan, 'default', 'p', agent1, '10.42.0.130')).lines, [
    'link set lo up',
    'addr add 10.42.0.130/25 dev eth0',
    'link set eth0 up',
    'route add default via 10.42.0.129 dev eth0',
  ]);
});

// --- stable addresses across changes (planLab with the running lab's plan) ---

/** The default config with these nodes, in this order (`name` or `name=ip`). */
function nodesConfig(...specs: string[]): LabConfig {
  const base = defaultConfig();
  return {
    ...base,
    nodes: specs.map((spec, i) => {
      const [name, ip] = spec.split('=') as [string, string | undefined];
      return { name, role: i === 0 ? ('server' as const) : ('agent' as const), labels: {}, ...(ip ? { ip } : {}) };
    }),
  };
}

function addresses(plan: LabPlan): string[] {
  return plan.nodes.map((n) => `${n.name} ${n.ip} ${n.podCIDR}`);
}

test('previous plan: without changes, the plan is the same as without one', (t) => {
  const plan = planLab(LAB, defaultConfig());
  t.deepEqual(planLab(LAB, defaultConfig(), plan), plan);
  t.deepEqual(planLab('big', customConfig(), planLab('big', customConfig())), planLab('big', customConfig()));
});

test('previous plan: adding a node keeps the others\' addresses, even when it is listed first', (t) => {
  const before = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2'));
  // Appended: the same as planning from scratch.
  t.deepEqual(addresses(planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2', 'agent-3'), before)), [
    'server 192.168.100.10 10.42.0.0/24',
    'agent-1 192.168.100.11 10.42.1.0/24',
    'agent-2 192.168.100.12 10.42.2.0/24',
    'agent-3 192.168.100.13 10.42.3.0/24',
  ]);
  // Inserted in the middle: from scratch, agent-1 and agent-2 would move; with the running plan, only the new node is new.
  const config = nodesConfig('server', 'agent-0', 'agent-1', 'agent-2');
  t.deepEqual(addresses(planLab(LAB, config)).slice(1, 3), ['agent-0 192.168.100.11 10.42.1.0/24', 'agent-1 192.168.100.12 10.42.2.0/24']);
  t.deepEqual(addresses(planLab(LAB, config, before)), [
    'server 192.168.100.10 10.42.0.0/24',
    'agent-0 192.168.100.13 10.42.3.0/24',
    'agent-1 192.168.100.11 10.42.1.0/24',
    'agent-2 192.168.100.12 10.42.2.0/24',
  ]);
});

test('previous plan: deleting a middle node renumbers no one; the next new node gets the lowest free addresses', (t) => {
  const before = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2', 'agent-3'));
  const after = planLab(LAB, nodesConfig('server', 'agent-2', 'agent-3'), before);
  t.deepEqual(addresses(after), ['server 192.168.100.10 10.42.0.0/24', 'agent-2 192.168.100.12 10.42.2.0/24', 'agent-3 192.168.100.13 10.42.3.0/24']);
  // Kept nodes keep their fingerprints, so the agent rebuilds none of them.
  for (const node of after.nodes) t.is(nodeFingerprint(node, after.lan), nodeFingerprint(before.nodes.find((n) => n.name === node.name)!, before.lan));
  // From scratch, agent-2 would have taken agent-1's place.
  t.deepEqual(addresses(planLab(LAB, nodesConfig('server', 'agent-2', 'agent-3')))[1], 'agent-2 192.168.100.11 10.42.1.0/24');
  // A node added later fills the gap, as k3s's allocator hands out the lowest free subnet.
  t.deepEqual(addresses(planLab(LAB, nodesConfig('server', 'agent-2', 'agent-3', 'agent-4'), after))[3], 'agent-4 192.168.100.11 10.42.1.0/24');
  // The deleted node coming back is a new node: it gets the lowest free addresses, which may be its old ones.
  t.deepEqual(addresses(planLab(LAB, nodesConfig('agent-1', 'server', 'agent-2', 'agent-3'), after))[0], 'agent-1 192.168.100.11 10.42.1.0/24');
});

test('previous plan: a changed cluster-cidr renumbers every pod CIDR in node order; LAN IPs stay', (t) => {
  const before = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2', 'agent-3'));
  const gone = planLab(LAB, nodesConfig('server', 'agent-2', 'agent-3'), before);
  const after = planLab(LAB, { ...nodesConfig('server', 'agent-2', 'agent-3'), clusterCIDR: '10.50.0.0/16' }, gone);
  t.deepEqual(addresses(after), ['server 192.168.100.10 10.50.0.0/24', 'agent-2 192.168.100.12 10.50.1.0/24', 'agent-3 192.168.100.13 10.50.2.0/24']);
  // A new node mask too: 10.42.2.0/24 is inside 10.42.0.0/16 but no longer a /25 of it.
  const remasked = planLab(LAB, { ...nodesConfig('server', 'agent-2', 'agent-3'), nodeCIDRMaskSize: 25 }, gone);
  t.deepEqual(remasked.nodes.map((n) => n.podCIDR), ['10.42.0.0/25', '10.42.0.128/25', '10.42.1.0/25']);
  // A larger cluster-cidr that still holds the old subnets keeps them.
  const widened = planLab(LAB, { ...nodesConfig('server', 'agent-2', 'agent-3', 'agent-4'), clusterCIDR: '10.42.0.0/15' }, gone);
  t.deepEqual(widened.nodes.map((n) => n.podCIDR), ['10.42.0.0/24', '10.42.2.0/24', '10.42.3.0/24', '10.42.1.0/24']);
});

test('previous plan: a changed lan-cidr renumbers the LAN IPs that no longer fit; pod CIDRs stay', (t) => {
  const before = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2'));
  const after = planLab(LAB, { ...nodesConfig('server', 'agent-1', 'agent-2'), lanCIDR: '10.99.0.0/24' }, before);
  t.deepEqual(addresses(after), ['server 10.99.0.10 10.42.0.0/24', 'agent-1 10.99.0.11 10.42.1.0/24', 'agent-2 10.99.0.12 10.42.2.0/24']);
  const wider = planLab(LAB, { ...nodesConfig('server', 'agent-2'), lanCIDR: '192.168.0.0/16' }, before);
  t.deepEqual(wider.nodes.map((n) => n.ip), ['192.168.100.10', '192.168.100.12'], 'still inside the wider LAN: kept');
});

test('previous plan: an explicit ip always wins, and the node it displaces gets the lowest free address', (t) => {
  const before = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2'));
  // agent-2 asks for agent-1's address.
  const after = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2=192.168.100.11'), before);
  t.deepEqual(addresses(after), ['server 192.168.100.10 10.42.0.0/24', 'agent-1 192.168.100.12 10.42.1.0/24', 'agent-2 192.168.100.11 10.42.2.0/24']);
  // A node given an explicit address moves there even if its old one is free.
  const moved = planLab(LAB, nodesConfig('server=192.168.100.50', 'agent-1', 'agent-2'), before);
  t.deepEqual(moved.nodes.map((n) => n.ip), ['192.168.100.50', '192.168.100.11', '192.168.100.12']);
  // Dropping the explicit ip later keeps the address the node has.
  const dropped = planLab(LAB, nodesConfig('server', 'agent-1', 'agent-2'), moved);
  t.deepEqual(dropped.nodes.map((n) => n.ip), ['192.168.100.50', '192.168.100.11', '192.168.100.12']);
});

test('previous plan: switching backend changes no address and no fingerprint', (t) => {
  const vxlan = planLab(LAB, customConfig());
  const hostGw = planLab(LAB, withBackend(customConfig(), 'host-gw'), vxlan);
  t.deepEqual(addresses(hostGw), addresses(vxlan));
  t.deepEqual(hostGw.nodes.map((n) => nodeFingerprint(n, hostGw.lan)), vxlan.nodes.map((n) => nodeFingerprint(n, vxlan.lan)));
  t.deepEqual([vxlan.podMTU, hostGw.podMTU], [1450, 1500]);
});

// --- flannel backends (renderOverlay) ---

/** The lines every backend starts with: host-gw's routes and any flannel.1 removed, cni0's MTU set. */
/** Every backend starts from a clean slate: a forced batch removes host-gw's routes and any flannel.1. */
function cleanupBatch(node: NodePlan): IpBatch {
  return { netns: node.netns, lines: ['route flush proto static', 'link del flannel.1'], force: true };
}

test('backend and pod MTU: vxlan 1450 (1500 less 50 bytes of VXLAN), host-gw and none 1500, on the lab and every node', (t) => {
  for (const [backend, mtu] of [['vxlan', 1450], ['host-gw', 1500], ['none', 1500]] as const) {
    const plan = planLab(LAB, withBackend(defaultConfig(), backend));
    t.is(plan.backend, backend);
    t.is(plan.podMTU, mtu, backend);
    for (const node of plan.nodes) {
      t.is(node.podMTU, mtu);
      t.true(renderNode(plan, node).lines.includes(`link add cni0 mtu ${mtu} type bridge`), `${backend}: cni0 gets MTU ${mtu}`);
    }
  }
  t.is(planLab(LAB, defaultConfig()).backend, 'vxlan', 'vxlan is the default, as in k3s');
});

test('renderNode renders no routes but the default: other nodes are the backend\'s business', (t) => {
  for (const backend of ['vxlan', 'host-gw', 'none'] as const) {
    const plan = planLab(LAB, withBackend(defaultConfig(), backend));
    for (const node of plan.nodes) {
      t.deepEqual(renderNode(plan, node).lines.filter((l) => l.startsWith('route ')), ['route add default via 192.168.100.1 dev eth0'], `${backend} ${node.name}`);
    }
  }
});

test('VTEP: flannel.1 gets the pod CIDR\'s .0 and a MAC derived from the node name, locally administered unicast', (t) => {
  const plan = planLab(LAB, defaultConfig());
  t.deepEqual(plan.nodes.map((n) => n.vtepIP), ['10.42.0.0', '10.42.1.0', '10.42.2.0']);
  for (const node of plan.nodes) {
    t.regex(node.vtepMac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = parseInt(node.vtepMac.slice(0, 2), 16);
    t.is(first & 0x01, 0, `${node.vtepMac} is unicast`);
    t.is(first & 0x02, 0x02, `${node.vtepMac} is locally administered`);
    t.is(node.vtepMac, vtepMac(node.name), 'the same name gives the same MAC');
  }
  t.is(new Set(plan.nodes.map((n) => n.vtepMac)).size, 3);
  // Not tied to the lab, the address or the position: only to the node's name.
  const other = planLab('other', customConfig());
  t.is(other.nodes.find((n) => n.name === 'w1')!.vtepMac, vtepMac('w1'));
  const names = Array.from({ length: 1000 }, (_, i) => `node-${i}`);
  t.is(new Set(names.map(vtepMac)).size, names.length, 'no collisions among 1000 node names');
});

for (const [title, config] of [
  ['default', defaultConfig],
  ['custom 4-node', customConfig],
] as const) {
  test(`vxlan (${title}): every other node in each node's routes, neighbours and FDB, never itself`, (t) => {
    const plan = planLab(LAB, withBackend(config(), 'vxlan'));
    for (const node of plan.nodes) {
      const batches = renderOverlay(plan, node);
      t.deepEqual(batches.map((b) => [b.netns, b.tool ?? 'ip']), [[node.netns, 'ip'], [node.netns, 'ip'], [node.netns, 'bridge']]);
      const [cleanup, ip, bridge] = batches as [IpBatch, IpBatch, IpBatch];
      t.deepEqual(cleanup, cleanupBatch(node), 'every backend starts from a clean slate');
      t.is(ip.lines[0], 'link set cni0 mtu 1450');
      t.deepEqual(ip.lines.slice(1, 4), [
        `link add flannel.1 address ${node.vtepMac} mtu 1450 type vxlan id 1 local ${node.ip} dev eth0 dstport 8472 nolearning`,
        `addr add ${node.vtepIP}/32 dev flannel.1`,
        'link set flannel.1 up',
      ]);
      const others = plan.nodes.filter((o) => o.name !== node.name);
      t.deepEqual(ip.lines.filter((l) => l.startsWith('route replace')), others.map((o) => `route replace ${o.podCIDR} via ${o.vtepIP} dev flannel.1 onlink`), node.name);
      t.deepEqual(ip.lines.filter((l) => l.startsWith('neigh ')), others.map((o) => `neigh replace ${o.vtepIP} lladdr ${o.vtepMac} dev flannel.1 nud permanent`), node.name);
      t.deepEqual(bridge.lines, others.map((o) => `fdb replace ${o.vtepMac} dev flannel.1 dst ${o.ip} self permanent`), node.name);
      t.is(ip.lines.length, 4 + 2 * others.length);
      const entries = [...ip.lines.slice(4), ...bridge.lines];
      for (const own of [node.podCIDR, node.vtepMac, ` ${node.vtepIP} `, ` ${node.ip} `]) t.false(entries.some((l) => l.includes(own)), `${node.name} has no entry for itself (${own.trim()})`);
    }
  });

  test(`host-gw (${title}): every node routes every other node's pod CIDR via that node's LAN IP, never its own`, (t) => {
    const plan = planLab(LAB, withBackend(config(), 'host-gw'));
    for (const node of plan.nodes) {
      const batches = renderOverlay(plan, node);
      t.is(batches.length, 2, 'no bridge batch');
      t.deepEqual(batches[0], cleanupBatch(node), 'host-gw routes flushed and flannel.1 removed first');
      const lines = batches[1]!.lines;
      t.is(batches[1]!.netns, node.netns);
      t.is(lines[0], 'link set cni0 mtu 1500');
      const expected = plan.nodes.filter((o) => o !== node).map((o) => `route replace ${o.podCIDR} via ${o.ip} dev eth0 proto static`);
      t.deepEqual(lines.slice(1), expected, node.name);
      t.false(lines.some((r) => r.includes(node.podCIDR) || r.includes(` via ${node.ip} `)), `${node.name} must not route its own pod CIDR`);
      t.false(lines.some((r) => r.includes('flannel.1')), 'no flannel.1 under host-gw');
    }
  });
}

test('none: only the cleanup, so cross-node pod traffic has no route', (t) => {
  const plan = planLab(LAB, withBackend(defaultConfig(), 'none'));
  for (const node of plan.nodes) t.deepEqual(renderOverlay(plan, node), [cleanupBatch(node), { netns: node.netns, lines: ['link set cni0 mtu 1500'] }]);
});

test('one-node lab: vxlan builds flannel.1 but has no peers and no bridge batch; host-gw only cleans up', (t) => {
  const config = { ...defaultConfig(), nodes: defaultConfig().nodes.slice(0, 1) };
  const vx = planLab(LAB, withBackend(config, 'vxlan'));
  const batches = renderOverlay(vx, vx.nodes[0]!);
  t.is(batches.length, 2);
  t.is(batches[1]!.lines.length, 4);
  const hg = planLab(LAB, withBackend(config, 'host-gw'));
  t.deepEqual(renderOverlay(hg, hg.nodes[0]!)[1]!.lines, ['link set cni0 mtu 1500']);
});

test('renderOverlay is the same whatever ran before: the lines depend on the plan alone', (t) => {
  const plan = planLab(LAB, defaultConfig());
  const again = planLab(LAB, defaultConfig(), planLab(LAB, withBackend(defaultConfig(), 'host-gw')));
  for (const [i, node] of plan.nodes.entries()) t.deepEqual(renderOverlay(again, again.nodes[i]!), renderOverlay(plan, node));
});

test('pod ports and pod MTU: new pods get the backend\'s MTU on both veth ends; renderPodMtu changes running ones', (t) => {
  const plan = planLab(LAB, defaultConfig());
  const [server, agent1] = plan.nodes as [NodePlan, NodePlan];
  const a = wire(plan, 'default', 'a', server, '10.42.0.2');
  const b = wire(plan, 'default', 'b', server, '10.42.0.3');
  const c = wire(plan, 'default', 'c', agent1, '10.42.1.2');
  t.is(renderPodPorts(server, [a]).lines[0], `link add ${a.veth} mtu 1450 type veth peer name eth0 mtu 1450 netns kn.lab1.pod.default.a`);
  const hostGw = planLab(LAB, withBackend(defaultConfig(), 'host-gw'));
  t.regex(renderPodPorts(hostGw.nodes[0]!, [a]).lines[0]!, / mtu 1500 type veth peer name eth0 mtu 1500 /);
  t.deepEqual(renderPodMtu([a, b, c], 1500), [
    { netns: 'kn.lab1.node.server', lines: [`link set ${a.veth} mtu 1500`, `link set ${b.veth} mtu 1500`] },
    { netns: 'kn.lab1.node.agent-1', lines: [`link set ${c.veth} mtu 1500`] },
    { netns: 'kn.lab1.pod.default.a', lines: ['link set eth0 mtu 1500'] },
    { netns: 'kn.lab1.pod.default.b', lines: ['link set eth0 mtu 1500'] },
    { netns: 'kn.lab1.pod.default.c', lines: ['link set eth0 mtu 1500'] },
  ]);
  t.deepEqual(renderPodMtu([], 1450), []);
});

// --- the batches, as text ---

/** Two pods on different nodes, with the IPs the agent hands out: the first free address after the gateway. */
function twoPods(t: ExecutionContext, plan: LabPlan): PodWiring[] {
  const [server, agent1] = plan.nodes;
  const ip1 = new PodIPAllocator(server!.podCIDR).allocate('default/web-1');
  const ip2 = new PodIPAllocator(agent1!.podCIDR).allocate('default/web-2');
  t.is(ip1, '10.42.0.2');
  t.is(ip2, '10.42.1.2');
  return [wire(plan, 'default', 'web-1', server!, ip1), wire(plan, 'default', 'web-2', agent1!, ip2)];
}

for (const [backend, file] of [
  ['vxlan', 'default-lab-two-pods.txt'],
  ['host-gw', 'default-lab-host-gw.txt'],
  ['none', 'default-lab-none.txt'],
] as const) {
  test(`golden: all batches for the default lab (${backend}) plus two pods on different nodes`, (t) => {
    const plan = planLab(LAB, withBackend(defaultConfig(), backend));
    const batches = labBatches(plan, twoPods(t, plan));
    // Root-namespace batches hold only `netns add|del`; every other batch is bound to one namespace.
    for (const b of batches) t.is(b.netns === undefined, b.lines.every((l) => l.startsWith('netns ')), b.lines[0]);
    matchesGolden(t, `dataplane/${file}`, batches.map(showBatch).join('\n'));
  });
}

test('golden: switching a running default lab from vxlan to host-gw', (t) => {
  const vxlan = planLab(LAB, defaultConfig());
  const hostGw = planLab(LAB, withBackend(defaultConfig(), 'host-gw'), vxlan);
  const pods = twoPods(t, vxlan);
  // The switch keeps every node's addresses, so every pod keeps its IP.
  t.deepEqual(
    hostGw.nodes.map((n) => nodeFingerprint(n, hostGw.lan)),
    vxlan.nodes.map((n) => nodeFingerprint(n, vxlan.lan)),
  );
  const batches = [...hostGw.nodes.flatMap((n) => renderOverlay(hostGw, n)), ...renderPodMtu(pods, hostGw.podMTU)];
  matchesGolden(t, 'dataplane/switch-vxlan-to-host-gw.txt', batches.map(showBatch).join('\n'));
});

test('golden: the custom 4-node lab', (t) => {
  const plan = planLab('big', customConfig());
  matchesGolden(t, 'dataplane/custom-4-node-lab.txt', labBatches(plan, []).filter((b) => b.lines.length > 0).map(showBatch).join('\n'));
});

test('LAN ports: a veth per node, far end named eth0 inside the node, plugged into br-lan', (t) => {
  const plan = planLab(LAB, defaultConfig());
  const batch = renderLanPorts(plan, [plan.nodes[2]!]);
  t.deepEqual(batch, {
    netns: 'kn.lab1.lan',
    lines: ['link add n-agent-2 type veth peer name eth0 netns kn.lab1.node.agent-2', 'link set n-agent-2 master br-lan', 'link set n-agent-2 up'],
  });
});

test('pod ports: veth into cni0 with hairpin on, one batch per node', (t) => {
  const plan = planLab(LAB, defaultConfig());
  const node = plan.nodes[0]!;
  const a = wire(plan, 'default', 'a', node, '10.42.0.2');
  const b = wire(plan, 'default', 'b', node, '10.42.0.3');
  const batch = renderPodPorts(node, [a, b]);
  t.is(batch.netns, 'kn.lab1.node.server');
  t.is(batch.lines.length, 8);
  t.deepEqual(batch.lines.slice(0, 4), [
    `link add ${a.veth} mtu 1450 type veth peer name eth0 mtu 1450 netns kn.lab1.pod.default.a`,
    `link set ${a.veth} master cni0`,
    `link set dev ${a.veth} type bridge_slave hairpin on`,
    `link set ${a.veth} up`,
  ]);
  t.is(batch.lines[4], `link add ${b.veth} mtu 1450 type veth peer name eth0 mtu 1450 netns kn.lab1.pod.default.b`);
});

test('netns add/del batches run in the root namespace', (t) => {
  t.deepEqual(renderNetnsAdd(['kn.x.a', 'kn.x.b']), { lines: ['netns add kn.x.a', 'netns add kn.x.b'] });
  t.deepEqual(renderNetnsDelete(['kn.x.a']), { lines: ['netns del kn.x.a'] });
  t.is(renderNetnsAdd([]).netns, undefined);
});

// --- names ---

test('interface names stay within 15 characters for 63-character node names and long pod names', (t) => {
  const long = (prefix: string) => (prefix + 'x'.repeat(63)).slice(0, 63);
  const names = [long('a-'), long('b-'), long('c-')];
  t.is(names[0]!.length, 63);
  const yaml = `nodes:\n${names.map((n, i) => `  - name: ${n}\n    role: ${i === 0 ? 'server' : 'agent'}\n`).join('')}`;
  const plan = planLab('abcdefghijklmnopqrstuvwxyz012345', parseConfig(yaml, 'long.yaml').config);
  t.is(plan.nodes.length, 3);
  const pods = plan.nodes.map((n, i) => wire(plan, 'kube-system', `${'p'.repeat(250)}-${i}`, n, `10.42.${i}.2`));
  const ifnames = new Set<string>(['br-lan', 'eth0', 'cni0']);
  for (const n of plan.nodes) ifnames.add(n.lanPort);
  for (const p of pods) ifnames.add(p.veth);
  // Every `link add NAME` and `peer name NAME` in every batch, not just the planned names.
  for (const b of labBatches(plan, pods)) {
    for (const line of b.lines) {
      for (const m of line.matchAll(/(?:link add|peer name|master|dev) (\S+)/g)) ifnames.add(m[1]!);
    }
  }
  for (const name of ifnames) t.true(name.length <= IFNAMSIZ, `interface name "${name}" is ${name.length} characters`);
  // The long LAN ports are still distinct from each other.
  t.is(new Set(plan.nodes.map((n) => n.lanPort)).size, 3);
  t.regex(plan.nodes[0]!.lanPort, /^n-[0-9a-f]{8}$/);
});

test('LAN port names: n-NODE when it fits, n- plus 8 hex digits when not', (t) => {
  t.is(lanPortName('server'), 'n-server');
  t.is(lanPortName('a'.repeat(13)), `n-${'a'.repeat(13)}`); // exactly 15
  t.regex(lanPortName('a'.repeat(14)), /^n-[0-9a-f]{8}$/);
  t.not(lanPortName('a'.repeat(14)), lanPortName('a'.repeat(15)));
});

test('pod netns names stay within 255 bytes for a 253-character pod name, and stay distinct', (t) => {
  const lab = 'abcdefghijklmnopqrstuvwxyz012345'; // 32, the longest lab name
  const ns = 'n'.repeat(63);
  const podA = 'a'.repeat(252) + '1';
  const podB = 'a'.repeat(252) + '2';
  t.is(podA.length, 253);
  const a = podNetns(lab, ns, podA);
  const b = podNetns(lab, ns, podB);
  t.true(Buffer.byteLength(a) <= 255, `${Buffer.byteLength(a)} bytes`);
  t.true(Buffer.byteLength(b) <= 255, `${Buffer.byteLength(b)} bytes`);
  t.not(a, b);
  t.true(a.startsWith(`kn.${lab}.pod.${ns}.`), 'a shortened name keeps the lab prefix for the sweep');
  t.regex(a, /\.[0-9a-f]{8}$/);
  // Short names are not touched.
  t.is(podNetns(lab, 'default', 'web'), `kn.${lab}.pod.default.web`);
});

test('veth names are veth + 8 hex digits, stable, and differ between pods', (t) => {
  const a = podVethName(podNetns(LAB, 'default', 'web-1'));
  const b = podVethName(podNetns(LAB, 'default', 'web-2'));
  const c = podVethName(podNetns(LAB, 'other', 'web-1'));
  const d = podVethName(podNetns('lab2', 'default', 'web-1'));
  for (const v of [a, b, c, d]) t.regex(v, /^veth[0-9a-f]{8}$/);
  t.is(a.length, 12);
  t.is(new Set([a, b, c, d]).size, 4);
  t.is(podVethName(podNetns(LAB, 'default', 'web-1')), a, 'the same pod gets the same veth');
});

// --- fingerprints ---

test('nodeFingerprint changes with the pod CIDR, LAN IP or LAN prefix, not with labels', (t) => {
  const plan = planLab(LAB, defaultConfig());
  const node = plan.nodes[1]!;
  const base = nodeFingerprint(node, plan.lan);
  t.is(nodeFingerprint({ ...node }, { ...plan.lan }), base);
  t.is(nodeFingerprint({ ...node, labels: { ...node.labels, zone: 'b' } }, plan.lan), base);
  t.not(nodeFingerprint({ ...node, podCIDR: '10.42.9.0/24' }, plan.lan), base);
  t.not(nodeFingerprint({ ...node, ip: '192.168.100.99' }, plan.lan), base);
  t.not(nodeFingerprint(node, { ...plan.lan, prefix: 16 }), base);

  // Through the config, as `up` sees it: labels changed on agent-1, mask changed for everyone.
  const relabelled = defaultConfig();
  relabelled.nodes[1]!.labels = { zone: 'b' };
  const p2 = planLab(LAB, relabelled);
  t.is(nodeFingerprint(p2.nodes[1]!, p2.lan), base);
  const remasked = planLab(LAB, { ...defaultConfig(), nodeCIDRMaskSize: 25 });
  t.is(nodeFingerprint(remasked.nodes[0]!, remasked.lan) === nodeFingerprint(plan.nodes[0]!, plan.lan), false);
});

// --- the golden helper itself ---

/** Records what matchesGolden asks of the test instead of failing this one. */
function recordingContext() {
  const calls: string[] = [];
  const t = {
    fail: (message?: string) => void calls.push(`fail: ${message}`),
    pass: () => void calls.push('pass'),
    is: (a: unknown, b: unknown) => (calls.push(`is: ${a === b}`), a === b),
    log: () => undefined,
  };
  return { t: t as unknown as ExecutionContext, calls };
}

test('matchesGolden fails when the golden file is missing and UPDATE_GOLDEN is unset', (t) => {
  const name = 'dataplane/__no-such-golden-file__.txt';
  t.false(existsSync(goldenPath(name)));
  const saved = process.env.UPDATE_GOLDEN;
  delete process.env.UPDATE_GOLDEN;
  const fake = recordingContext();
  try {
    t.false(matchesGolden(fake.t, name, 'anything'));
  } finally {
    if (saved !== undefined) process.env.UPDATE_GOLDEN = saved;
  }
  t.is(fake.calls.length, 1);
  t.regex(fake.calls[0]!, /^fail: golden file .*__no-such-golden-file__\.txt is missing; run the test with UPDATE_GOLDEN=1/);
  t.false(existsSync(goldenPath(name)), 'a missing golden file is not created without UPDATE_GOLDEN=1');
});

test('matchesGolden compares with the file when it exists', (t) => {
  if (process.env.UPDATE_GOLDEN === '1') return t.pass();
  const name = 'dataplane/default-lab-two-pods.txt';
  const fake = recordingContext();
  t.false(matchesGolden(fake.t, name, 'not the golden text'));
  t.deepEqual(fake.calls, ['is: false']);
});
