// kube-proxy's nftables rules for one node, compared as text: golden files under
// test/fixtures/nftables/ for the Service shapes of upstream's proxier_test.go (inputs shared with
// iptables mode under test/fixtures/proxy/), and upstream's TestOverallNFTablesRules written out
// by hand, compared as upstream compares it (sorted by sortNFTablesTransaction's rules). Every
// text is also replayed through the nft model, which fails where nft would (a jump to a chain
// that does not exist yet, a delete of something referenced), so no root is needed.
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProxyObjects } from '../../src/proxy/from-objects.js';
import { renderNftFullSync, renderNftSync, type NftSyncOptions } from '../../src/proxy/nftables/index.js';
import { applyNft, dumpNft, emptyNftTable } from '../../src/proxy/nftables/model.js';
import type { NodeContext, ProxySnapshot } from '../../src/proxy/types.js';

const INPUTS = fileURLToPath(new URL('../fixtures/proxy/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('../fixtures/nftables/', import.meta.url));
const TEST_NODE: NodeContext = { nodeName: 'test-node', nodeIPs: ['192.168.0.2'], clusterCIDR: '10.0.0.0/8' };
const TEST_OPTIONS: NftSyncOptions = { serviceCIDRs: ['172.30.0.0/16'] };

async function snapshotOf(yaml: string): Promise<ProxySnapshot> {
  return (await loadProxyObjects([`${INPUTS}${yaml}.yaml`])).snapshot;
}

/** The golden file's text; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function golden(name: string, actual: string): string {
  const file = `${GOLDEN}${name}.nft`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  return existsSync(file) ? readFileSync(file, 'utf8') : `(missing golden file ${file})`;
}

const goldenCases: { name: string; yaml?: string; node?: Partial<NodeContext>; options?: NftSyncOptions }[] = [
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
  { name: 'system-services', node: { nodeName: 'server', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' }, options: { serviceCIDRs: ['10.43.0.0/16'] } },
];

for (const c of goldenCases) {
  test(`golden: ${c.name}`, async (t) => {
    const text = renderNftFullSync(await snapshotOf(c.yaml ?? c.name), { ...TEST_NODE, ...c.node }, { ...TEST_OPTIONS, ...c.options });
    t.is(text, golden(c.name, text));
    t.notThrows(() => applyNft(emptyNftTable(), text), 'nft would accept it on a fresh node');
  });
}

/** Upstream's sortNFTablesTransaction: blank and # lines dropped; by object type, then name; rules keep their order. */
function sortLikeUpstream(text: string): string {
  const order: Record<string, number> = { table: 10, chain: 9, rule: 8, set: 7, map: 6, element: 5 };
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const indexed = lines.map((line, i) => ({ line, i, w: line.split(' ') }));
  indexed.sort((a, b) => {
    const [ta, tb] = [a.w[1]!, b.w[1]!];
    if (ta !== tb) return (order[tb] ?? 0) - (order[ta] ?? 0);
    const [na, nb] = [a.w[4] ?? '', b.w[4] ?? ''];
    if (na !== nb) return na < nb ? -1 : 1;
    if (ta === 'rule') return a.i - b.i;
    return a.line < b.line ? -1 : a.line > b.line ? 1 : 0;
  });
  return `${indexed.map((x) => x.line).join('\n')}\n`;
}

test("upstream's TestOverallNFTablesRules, less load balancers and externalIPs, gives upstream's rules", async (t) => {
  const table = emptyNftTable();
  for (const text of renderNftSync(await snapshotOf('upstream-overall'), TEST_NODE, undefined, TEST_OPTIONS).transactions) applyNft(table, text);
  t.is(sortLikeUpstream(dumpNft(table)), sortLikeUpstream(readFileSync(`${GOLDEN}upstream-overall.nft`, 'utf8')));
});

test('the hairpin masquerade and the DNAT of a two-endpoint ClusterIP Service, in one chain block each', async (t) => {
  const snapshot = await snapshotOf('multi-port');
  const text = renderNftFullSync(snapshot, TEST_NODE, TEST_OPTIONS);
  t.regex(text, /^add chain ip kube-proxy endpoint-[A-Z2-7]{8}-shop\/web\/tcp\/http__10\.180\.0\.8\/8080 \{ ip saddr 10\.180\.0\.8 jump mark-for-masquerade ; meta l4proto tcp dnat to 10\.180\.0\.8:8080 ; \}$/m);
  t.regex(text, /^add chain ip kube-proxy service-[A-Z2-7]{8}-shop\/web\/tcp\/http \{ ip daddr 172\.30\.0\.60 tcp dport 80 ip saddr != 10\.0\.0\.0\/8 jump mark-for-masquerade ; numgen random mod 2 vmap \{ 0 : goto endpoint-\S+__10\.180\.0\.8\/8080 , 1 : goto endpoint-\S+__10\.180\.0\.9\/8080 \} ; \}$/m);
});

test('without a pod CIDR there is no local-traffic detection: no masquerade rule for off-cluster sources', async (t) => {
  const text = renderNftFullSync(await snapshotOf('clusterip-one-endpoint'), { ...TEST_NODE, clusterCIDR: '' }, TEST_OPTIONS);
  t.notRegex(text, /saddr != /);
  t.regex(text, /numgen random mod 1 vmap/);
});

test('without Service CIDRs cluster-ips-check only rejects bad ports; without node IPs NodePorts match any local address', async (t) => {
  const text = renderNftFullSync(await snapshotOf('nodeport'), { ...TEST_NODE, nodeIPs: [] });
  t.notRegex(text, /Drop traffic to unallocated ClusterIPs/);
  t.regex(text, /^delete set ip kube-proxy nodeport-ips$/m);
  t.regex(text, /services \{ .* ; fib daddr type local ip daddr != 127\.0\.0\.0\/8 meta l4proto \. th dport vmap @service-nodeports ; \}/);
  t.regex(text, /nodeport-endpoints-check \{ ip daddr != 127\.0\.0\.0\/8 meta l4proto \. th dport vmap @no-endpoint-nodeports ; \}/);
  t.notThrows(() => applyNft(emptyNftTable(), text));
});
