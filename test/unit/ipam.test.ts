import test from 'ava';
import { KnetlabError } from '../../src/errors.js';
import { ipToInt } from '../../src/ipam/cidr.js';
import { PodIPAllocator } from '../../src/ipam/pod-ips.js';
import { DNS_SERVICE, KUBERNETES_SERVICE, ServiceIPAllocator } from '../../src/ipam/service-ips.js';
import { assignPodCIDRs, nodePodCIDRs, planLan } from '../../src/ipam/subnets.js';

// --- node pod subnets ---

test('k3s defaults: node i gets the i-th /24 of 10.42.0.0/16', (t) => {
  t.deepEqual(nodePodCIDRs('10.42.0.0/16', 24, 3), ['10.42.0.0/24', '10.42.1.0/24', '10.42.2.0/24']);
});

test('custom node masks /25 and /26', (t) => {
  t.deepEqual(nodePodCIDRs('10.42.0.0/16', 25, 3), ['10.42.0.0/25', '10.42.0.128/25', '10.42.1.0/25']);
  t.deepEqual(nodePodCIDRs('10.42.0.0/24', 26, 4), ['10.42.0.0/26', '10.42.0.64/26', '10.42.0.128/26', '10.42.0.192/26']);
});

test('no nodes, no subnets', (t) => {
  t.deepEqual(nodePodCIDRs('10.42.0.0/16', 24, 0), []);
});

test('more nodes than subnets is an error naming the numbers', (t) => {
  const error = t.throws(() => nodePodCIDRs('10.42.0.0/23', 24, 3), { instanceOf: KnetlabError });
  t.regex(error.message, /holds 2 node subnets of \/24, but 3 nodes/);
});

test('mask sizes that cannot work are errors', (t) => {
  t.throws(() => nodePodCIDRs('10.42.0.0/16', 8, 1), { instanceOf: KnetlabError, message: /does not fit/ });
  t.throws(() => nodePodCIDRs('10.42.0.0/16', 31, 1), { instanceOf: KnetlabError, message: /does not fit/ });
  t.throws(() => nodePodCIDRs('10.0.0.0/8', 25, 1), { instanceOf: KnetlabError, message: /more than 16 bits/ });
  t.throws(() => nodePodCIDRs('10.42.0.0', 24, 1), { instanceOf: KnetlabError, message: /not an IPv4 CIDR/ });
});

test('kept pod CIDRs stay; the others get the lowest free subnets in node order', (t) => {
  t.deepEqual(assignPodCIDRs('10.42.0.0/16', 24, [undefined, undefined, undefined]), nodePodCIDRs('10.42.0.0/16', 24, 3));
  t.deepEqual(assignPodCIDRs('10.42.0.0/16', 24, ['10.42.0.0/24', '10.42.2.0/24', undefined, undefined]), ['10.42.0.0/24', '10.42.2.0/24', '10.42.1.0/24', '10.42.3.0/24']);
  t.deepEqual(assignPodCIDRs('10.42.0.0/16', 24, [undefined, '10.42.0.0/24']), ['10.42.1.0/24', '10.42.0.0/24'], 'a kept CIDR is taken before new nodes choose');
});

test('kept pod CIDRs that no longer fit are replaced: outside the cluster CIDR, another mask, not a network address, taken twice', (t) => {
  t.deepEqual(assignPodCIDRs('10.50.0.0/16', 24, ['10.42.0.0/24', '10.42.1.0/24']), ['10.50.0.0/24', '10.50.1.0/24']);
  t.deepEqual(assignPodCIDRs('10.42.0.0/16', 25, ['10.42.1.0/24', '10.42.0.128/25']), ['10.42.0.0/25', '10.42.0.128/25']);
  t.deepEqual(assignPodCIDRs('10.42.0.0/16', 24, ['10.42.5.1/24', 'nonsense', '10.42.7.0/24']), ['10.42.0.0/24', '10.42.1.0/24', '10.42.7.0/24']);
  t.deepEqual(assignPodCIDRs('10.42.0.0/16', 24, ['10.42.3.0/24', '10.42.3.0/24']), ['10.42.3.0/24', '10.42.0.0/24']);
  // A subnet that starts inside the cluster CIDR but reaches past its end.
  t.deepEqual(assignPodCIDRs('10.42.0.0/23', 23, ['10.42.0.0/22']), ['10.42.0.0/23']);
  t.throws(() => assignPodCIDRs('10.42.0.0/23', 24, ['10.42.0.0/24', undefined, undefined]), { instanceOf: KnetlabError, message: /holds 2 node subnets/ });
});

// --- LAN ---

test('LAN: .1 is the lan host, nodes get .10, .11, ... in order', (t) => {
  t.deepEqual(planLan('192.168.100.0/24', [{}, {}, {}]), {
    cidr: '192.168.100.0/24',
    prefix: 24,
    lanHost: '192.168.100.1',
    nodeIPs: ['192.168.100.10', '192.168.100.11', '192.168.100.12'],
  });
});

test('LAN: explicit addresses are kept and skipped by the automatic ones', (t) => {
  const plan = planLan('192.168.100.0/24', [{}, { ip: '192.168.100.11' }, {}, { ip: '192.168.100.10' }, {}]);
  t.deepEqual(plan.nodeIPs, ['192.168.100.12', '192.168.100.11', '192.168.100.13', '192.168.100.10', '192.168.100.14']);
});

test('LAN: explicit addresses outside the LAN, duplicated or reserved are errors', (t) => {
  t.throws(() => planLan('192.168.100.0/24', [{ ip: '10.0.0.5' }]), { instanceOf: KnetlabError, message: /not in the LAN/ });
  t.throws(() => planLan('192.168.100.0/24', [{ ip: '192.168.100.20' }, { ip: '192.168.100.20' }]), { instanceOf: KnetlabError });
  t.throws(() => planLan('192.168.100.0/24', [{ ip: '192.168.100.1' }]), { instanceOf: KnetlabError });
  t.throws(() => planLan('192.168.100.0/24', [{ ip: '192.168.100.255' }]), { instanceOf: KnetlabError });
});

test('LAN: running out of addresses is an error', (t) => {
  t.deepEqual(planLan('192.168.100.0/28', [{}, {}, {}, {}]).nodeIPs, ['192.168.100.10', '192.168.100.11', '192.168.100.12', '192.168.100.13']);
  t.throws(() => planLan('192.168.100.0/28', [{}, {}, {}, {}, {}, {}]), { instanceOf: KnetlabError, message: /no free address/ });
});

test('LAN: previous addresses are kept while inside the LAN and not asked for by another node', (t) => {
  const lan = '192.168.100.0/24';
  // A node between kept ones gets the lowest free address.
  t.deepEqual(planLan(lan, [{ previousIP: '192.168.100.10' }, {}, { previousIP: '192.168.100.12' }]).nodeIPs, ['192.168.100.10', '192.168.100.11', '192.168.100.12']);
  t.deepEqual(planLan(lan, [{}, { previousIP: '192.168.100.10' }]).nodeIPs, ['192.168.100.11', '192.168.100.10']);
  // The explicit ip of another node wins; the displaced node gets the lowest free address.
  t.deepEqual(planLan(lan, [{ previousIP: '192.168.100.11' }, { ip: '192.168.100.11', previousIP: '192.168.100.12' }]).nodeIPs, ['192.168.100.10', '192.168.100.11']);
  // A node's own explicit ip wins over its previous one.
  t.deepEqual(planLan(lan, [{ ip: '192.168.100.40', previousIP: '192.168.100.10' }, {}]).nodeIPs, ['192.168.100.40', '192.168.100.10']);
  // Outside the LAN, the lan host, the broadcast, or already kept by another node: replaced.
  t.deepEqual(
    planLan(lan, [{ previousIP: '10.0.0.10' }, { previousIP: '192.168.100.1' }, { previousIP: '192.168.100.255' }, { previousIP: '192.168.100.30' }, { previousIP: '192.168.100.30' }]).nodeIPs,
    ['192.168.100.10', '192.168.100.11', '192.168.100.12', '192.168.100.30', '192.168.100.13'],
  );
  // An address below .10 (once given explicitly) is kept too.
  t.deepEqual(planLan(lan, [{ previousIP: '192.168.100.5' }, {}]).nodeIPs, ['192.168.100.5', '192.168.100.10']);
});

// --- pod IPs (host-local) ---

test('pods: gateway is .1 and the first pods get .2, .3', (t) => {
  const ipam = new PodIPAllocator('10.42.1.0/24');
  t.is(ipam.gateway, '10.42.1.1');
  t.is(ipam.allocate('default/a'), '10.42.1.2');
  t.is(ipam.allocate('default/b'), '10.42.1.3');
});

test('pods: a released IP is not reused next; allocation goes on after the last one', (t) => {
  const ipam = new PodIPAllocator('10.42.0.0/24');
  const first = ipam.allocate('default/a');
  ipam.allocate('default/b');
  ipam.release(first);
  t.is(ipam.allocate('default/c'), '10.42.0.4');
});

test('pods: allocation wraps around to the lowest free address after the top', (t) => {
  const ipam = new PodIPAllocator('10.42.0.0/29'); // pods .2 .. .6
  for (const name of ['a', 'b', 'c', 'd', 'e']) ipam.allocate(`default/${name}`);
  t.is(ipam.state.lastOffset, 6);
  ipam.release('10.42.0.3');
  ipam.release('10.42.0.5');
  t.is(ipam.allocate('default/f'), '10.42.0.3');
  t.is(ipam.allocate('default/g'), '10.42.0.5');
});

test('pods: network, gateway and broadcast are never handed out; a full CIDR is an error', (t) => {
  const ipam = new PodIPAllocator('10.42.0.0/30'); // only .2 is a pod address
  t.is(ipam.allocate('default/a'), '10.42.0.2');
  const error = t.throws(() => ipam.allocate('default/b'), { instanceOf: KnetlabError });
  t.is(error.message, 'pod CIDR 10.42.0.0/30 is full: all 1 pod addresses are in use');
});

test('pods: a /24 holds 253 pods', (t) => {
  const ipam = new PodIPAllocator('10.42.0.0/24');
  const ips = Array.from({ length: 253 }, (_, i) => ipam.allocate(`default/p${i}`));
  t.is(new Set(ips).size, 253);
  t.false(ips.includes('10.42.0.0') || ips.includes('10.42.0.1') || ips.includes('10.42.0.255'));
  t.throws(() => ipam.allocate('default/one-more'), { message: /is full/ });
});

test('pods: an owner that already has an IP gets it again', (t) => {
  const ipam = new PodIPAllocator('10.42.0.0/24');
  t.is(ipam.allocate('default/a'), '10.42.0.2');
  t.is(ipam.allocate('default/a'), '10.42.0.2');
});

test('pods: allocateSpecific restores an address and refuses bad ones', (t) => {
  const ipam = new PodIPAllocator('10.42.0.0/24');
  t.is(ipam.allocateSpecific('10.42.0.50', 'default/a'), '10.42.0.50');
  t.is(ipam.allocateSpecific('10.42.0.50', 'default/a'), '10.42.0.50');
  t.throws(() => ipam.allocateSpecific('10.42.0.50', 'default/b'), { message: /in use by default\/a/ });
  t.throws(() => ipam.allocateSpecific('10.42.1.5', 'default/b'), { message: /not in the pod CIDR/ });
  t.throws(() => ipam.allocateSpecific('10.42.0.1', 'default/b'), { message: /gateway/ });
  t.throws(() => ipam.allocateSpecific('10.42.0.0', 'default/b'), { message: /network address/ });
  t.throws(() => ipam.allocateSpecific('10.42.0.255', 'default/b'), { message: /broadcast/ });
  t.is(ipam.allocate('default/c'), '10.42.0.51'); // host-local remembers requested addresses too
});

test('pods: state round-trips through JSON and the constructor', (t) => {
  const ipam = new PodIPAllocator('10.42.2.0/24');
  ipam.allocate('default/a');
  ipam.allocate('default/b');
  ipam.allocate('default/c');
  ipam.release('10.42.2.3');
  const saved = JSON.parse(JSON.stringify(ipam.state));
  t.deepEqual(saved, { lastOffset: 4, allocated: { '10.42.2.2': 'default/a', '10.42.2.4': 'default/c' } });
  const restored = new PodIPAllocator('10.42.2.0/24', saved);
  t.deepEqual(restored.state, saved);
  t.is(restored.allocate('default/d'), '10.42.2.5');
});

test('pods: saved state that does not fit the CIDR is refused', (t) => {
  t.throws(() => new PodIPAllocator('10.42.0.0/24', { lastOffset: 2, allocated: { '10.42.1.2': 'default/a' } }), { instanceOf: KnetlabError });
  t.throws(() => new PodIPAllocator('10.42.0.0/24', { lastOffset: 300, allocated: {} }), { instanceOf: KnetlabError });
});

// --- service IPs (kube-apiserver) ---

test('services: .1 is default/kubernetes and the cluster DNS address is kube-dns', (t) => {
  const ipam = new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10');
  t.deepEqual(ipam.state, { allocated: { '10.43.0.1': KUBERNETES_SERVICE, '10.43.0.10': DNS_SERVICE } });
  t.throws(() => ipam.allocateSpecific('10.43.0.10', 'default/web'), { message: /already allocated to kube-system\/kube-dns/ });
  t.throws(() => ipam.allocateSpecific('10.43.0.1', 'default/web'), { message: /already allocated to default\/kubernetes/ });
});

test('services: dynamic IPs avoid the static band and are the same on every run', (t) => {
  const a = new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10');
  const b = new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10');
  const ips = ['default/web', 'default/api', 'shop/cart'].map((owner) => a.allocate(owner));
  t.deepEqual(['default/web', 'default/api', 'shop/cart'].map((owner) => b.allocate(owner)), ips);
  t.is(new Set(ips).size, 3);
  for (const ip of ips) t.true(ipToInt(ip) >= ipToInt('10.43.1.1') && ip.startsWith('10.43.'), ip); // static band: .0.1 .. .1.0
  t.is(a.allocate('default/web'), ips[0]);
});

test('services: a small range is filled completely, network and broadcast excepted', (t) => {
  const ipam = new ServiceIPAllocator('10.96.0.0/28', '10.96.0.10'); // 14 usable, 2 reserved
  const ips = Array.from({ length: 12 }, (_, i) => ipam.allocate(`default/s${i}`));
  t.is(new Set(ips).size, 12);
  t.false(ips.includes('10.96.0.0') || ips.includes('10.96.0.15'));
  t.throws(() => ipam.allocate('default/full'), { instanceOf: KnetlabError, message: /is full/ });
  ipam.release(ips[3]!);
  t.is(ipam.allocate('default/again'), ips[3]);
});

test('services: allocateSpecific refuses addresses outside the range', (t) => {
  const ipam = new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10');
  t.is(ipam.allocateSpecific('10.43.0.20', 'default/fixed'), '10.43.0.20');
  t.throws(() => ipam.allocateSpecific('10.44.0.1', 'default/x'), { message: /not in the service CIDR/ });
  t.throws(() => ipam.allocateSpecific('10.43.255.255', 'default/x'), { message: /broadcast/ });
  t.throws(() => new ServiceIPAllocator('10.43.0.0/16', '10.96.0.10'), { instanceOf: KnetlabError });
});

test('services: state round-trips and keeps the reservations', (t) => {
  const ipam = new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10');
  const web = ipam.allocate('default/web');
  const saved = JSON.parse(JSON.stringify(ipam.state));
  const restored = new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10', saved);
  t.deepEqual(restored.state, saved);
  t.is(restored.state.allocated[web], 'default/web');
  t.throws(() => new ServiceIPAllocator('10.43.0.0/16', '10.43.0.10', { allocated: { '10.43.0.10': 'default/web' } }), { message: /already allocated/ });
});
