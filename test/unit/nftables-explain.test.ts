// `knetlab explain` in nftables mode, without root: the tree built from a real
// `nft -j list table ip kube-proxy` (test/fixtures/golden/nftables-explain/table.json, captured
// from the rules rendered for services.yaml by test/e2e/explain.test.ts), for a NodePort Service
// with three endpoints, ClientIP affinity, a Service without endpoints and externalTrafficPolicy
// Local, each as golden text; and the JSON printer against the text nft printed for the same table.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { formatExplain, type ExplainNode, type ServiceRef } from '../../src/proxy/explain.js';
import { explainNftService } from '../../src/proxy/nftables/explain.js';
import { parseNftJson, printElement, printRule } from '../../src/proxy/nftables/listing.js';
import { goldenPath, matchesGolden } from '../helpers/golden.js';

const DIR = 'nftables-explain';
const listing = parseNftJson(readFileSync(goldenPath(`${DIR}/table.json`), 'utf8'));
const text = readFileSync(goldenPath(`${DIR}/table.nft`), 'utf8');

const SERVICES: Record<string, ServiceRef> = {
  web: { clusterIP: '10.43.39.238', nodePorts: [30080] },
  sticky: { clusterIP: '10.43.7.7', nodePorts: [] },
  empty: { clusterIP: '10.43.200.1', nodePorts: [30090] },
  local: { clusterIP: '10.43.9.9', nodePorts: [30100] },
};

const all = (nodes: ExplainNode[]): ExplainNode[] => nodes.flatMap((n) => [n, ...all(n.children)]);

for (const [name, ref] of Object.entries(SERVICES)) {
  test(`golden: explain svc/${name}`, (t) => {
    matchesGolden(t, `${DIR}/${name}.txt`, `${formatExplain(explainNftService(listing, ref))}\n`);
  });
}

test('three endpoints: the service-ips element, the masquerade mark, 1/3 to each endpoint chain and its dnat to', (t) => {
  const [clusterIP, nodePort] = explainNftService(listing, SERVICES.web!);
  t.deepEqual(
    { chain: clusterIP!.chain, rule: clusterIP!.rule },
    { chain: 'services', rule: '@service-ips { 10.43.39.238 . tcp . 80 : goto service-SUSTUHLJ-default/web/tcp/http }' },
  );
  const [mark, spread] = clusterIP!.children;
  t.is(mark!.rule, 'ip daddr 10.43.39.238 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade');
  t.is(mark!.chain, 'service-SUSTUHLJ-default/web/tcp/http');
  t.is(spread!.rule, 'numgen random mod 3 vmap');
  t.deepEqual(
    spread!.children.map((b) => [b.share, b.draw, b.children[0]!.chain, b.children.at(-1)!.dnat]),
    [
      [1 / 3, 'numgen random mod 3 = 0', 'endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080', '10.42.0.3:8080'],
      [1 / 3, 'numgen random mod 3 = 1', 'endpoint-PNOO5ZXP-default/web/tcp/http__10.42.1.2/8080', '10.42.1.2:8080'],
      [1 / 3, 'numgen random mod 3 = 2', 'endpoint-JMQBPNXE-default/web/tcp/http__10.42.2.2/8080', '10.42.2.2:8080'],
    ],
  );
  t.is(nodePort!.rule, '@service-nodeports { tcp . 30080 : goto external-SUSTUHLJ-default/web/tcp/http }');
  t.deepEqual(nodePort!.children.map((c) => c.rule), ['jump mark-for-masquerade', 'goto service-SUSTUHLJ-default/web/tcp/http']);
  t.is(all(nodePort!.children).filter((n) => n.dnat).length, 3, 'the NodePort reaches the same three DNATs through the service chain');
});

test('no counters: kube-proxy writes none into its nftables rules, so none are printed', (t) => {
  const tree = explainNftService(listing, SERVICES.web!);
  t.true(all(tree).every((n) => n.packets === undefined));
  t.notRegex(formatExplain(tree), /pkts/);
});

test('ClientIP affinity: the lookups come first and take no share; each endpoint chain remembers the client', (t) => {
  const [root] = explainNftService(listing, SERVICES.sticky!);
  const rules = root!.children;
  t.deepEqual(rules.map((r) => r.share), [undefined, undefined, undefined, undefined]);
  t.regex(rules[1]!.rule, /^ip saddr @affinity-AWS22TDF-default\/sticky\/udp\/__10\.42\.1\.2\/8081 goto endpoint-AWS22TDF-\S+ {2}\(affinity: a client seen within the timeout\)$/);
  t.deepEqual(rules[3]!.children.map((b) => b.share), [0.5, 0.5]);
  t.regex(rules[3]!.children[0]!.children[1]!.rule, /^update @affinity-AWS22TDF-\S+ \{ ip saddr \} {2}\(affinity: remember the client\)$/);
});

test('no endpoints: the @no-endpoint-services and @no-endpoint-nodeports elements, each to reject-chain and its reject', (t) => {
  const tree = explainNftService(listing, SERVICES.empty!);
  t.deepEqual(
    tree.map((r) => [r.chain, r.rule, r.children.map((c) => `${c.chain}: ${c.rule}`)]),
    [
      ['service-endpoints-check', '@no-endpoint-services { 10.43.200.1 . tcp . 80 comment "default/empty" : goto reject-chain }', ['reject-chain: reject']],
      ['nodeport-endpoints-check', '@no-endpoint-nodeports { tcp . 30090 comment "default/empty" : goto reject-chain }', ['reject-chain: reject']],
    ],
  );
});

test('a Service with no rules on the node, or no ClusterIP, has no tree', (t) => {
  t.deepEqual(explainNftService(listing, { clusterIP: '10.43.1.1', nodePorts: [31999] }), []);
  t.deepEqual(explainNftService(listing, { nodePorts: [] }), []);
});

test('a chain the verdict names but the table lacks (a sync in between) is said to be missing', (t) => {
  const chains = new Map(listing.chains);
  chains.delete('endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080');
  const [root] = explainNftService({ ...listing, chains }, SERVICES.web!);
  t.deepEqual(root!.children[1]!.children[0]!.children, [{ chain: 'endpoint-RYTVFLFH-default/web/tcp/http__10.42.0.3/8080', rule: '(chain missing from the table)', children: [] }]);
});

/** Each chain's rule lines in `nft list table` text. */
function textChains(listed: string): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  for (const block of listed.split(/\n(?=\tchain )/)) {
    const head = /^\tchain (\S+) \{/.exec(block);
    if (head) chains.set(head[1]!, block.split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== '' && l !== '}' && !/^(type|comment) /.test(l)));
  }
  return chains;
}

test("the printer writes the rules of kube-proxy's per-Service chains and reject-chain as nft prints them", (t) => {
  const listed = textChains(text);
  const walked = [...listing.chains.keys()].filter((c) => c.includes('/') || c === 'reject-chain');
  t.is(walked.length, 13, 'web: 3 endpoint, service, external; sticky: 2 endpoint, service; local: endpoint, service, local, external; reject-chain');
  for (const chain of walked) t.deepEqual(listing.chains.get(chain)!.map(printRule), listed.get(chain), chain);
});

test('the printer writes the map elements as nft prints them', (t) => {
  for (const [map, elements] of listing.maps) {
    const block = new RegExp(`\\tmap ${map} \\{\\n([^]*?)\\n\\t\\}`).exec(text)?.[1] ?? '';
    const listed = /elements = \{ ([^}]*) \}/.exec(block)?.[1]?.split(/,\s*/) ?? [];
    t.deepEqual(elements.map(printElement), listed, map);
  }
});
