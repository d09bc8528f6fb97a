// `knetlab explain` in nftables mode, against the real thing. First the fixture the unit test
// reads (test/fixtures/golden/nftables-explain/table.json and table.nft): the rules rendered for
// services.yaml, applied in a scratch namespace, listed by nft again and compared (UPDATE_GOLDEN=1
// rewrites them). Then a 3-node lab whose config says `kube-proxy-arg: [proxy-mode=nftables]`:
// explain shows the @service-ips element, the service chain, three branches of 1/3 with each
// web pod's `dnat to`, the NodePort's @service-nodeports element, and for a Service without
// endpoints its @no-endpoint-services element and the reject. Needs root.
import type { ExecutionContext } from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '../../src/kernel/exec.js';
import type { ExplainNode } from '../../src/proxy/explain.js';
import { loadProxyObjects } from '../../src/proxy/from-objects.js';
import { nftBinary, renderNftSync } from '../../src/proxy/nftables/index.js';
import { goldenPath, matchesGolden } from '../helpers/golden.js';
import { e2e, getPods, ok, proxyModeConfig, scratchNamespace, tempFile, useLab } from '../helpers/lab.js';
import { EMPTY_SERVICE, webDeployment, webNodePortService } from '../helpers/manifests.js';

const FIXTURE = 'nftables-explain';

/** The listing without what differs between two equal tables: handles, and nft's own version. */
function comparable(json: string): unknown {
  const listing = JSON.parse(json) as { nftables: Record<string, Record<string, unknown>>[] };
  return listing.nftables
    .filter((o) => !('metainfo' in o))
    .map((o) => Object.fromEntries(Object.entries(o).map(([kind, body]) => [kind, Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'handle'))])));
}

e2e('the unit test\'s fixture is what nft 1.0.6 lists for the rules rendered from services.yaml', async (t) => {
  const ns = await scratchNamespace(t, 'explain');
  const { snapshot } = await loadProxyObjects([goldenPath(`${FIXTURE}/services.yaml`)]);
  const sync = renderNftSync(snapshot, { nodeName: 'server', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' }, undefined, { serviceCIDRs: ['10.43.0.0/16'] });
  const nft = (args: string[], input?: string) => run(['ip', 'netns', 'exec', ns, nftBinary(), ...args], input === undefined ? {} : { input });
  for (const text of sync.transactions) await nft(['-f', '-'], text);
  matchesGolden(t, `${FIXTURE}/table.nft`, `${(await nft(['list', 'table', 'ip', 'kube-proxy'])).stdout}\n`);
  const json = `${JSON.stringify(JSON.parse((await nft(['-j', 'list', 'table', 'ip', 'kube-proxy'])).stdout), null, 1)}\n`;
  const file = goldenPath(`${FIXTURE}/table.json`);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, json);
  t.true(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`);
  t.deepEqual(comparable(json), comparable(readFileSync(file, 'utf8')), 'table.json differs from the live listing (UPDATE_GOLDEN=1 rewrites it)');
});

const MANIFEST = [webDeployment(), webNodePortService(), EMPTY_SERVICE].join('---\n');

interface Explained {
  proxyMode: string;
  clusterIP: string;
  tree: ExplainNode[];
}

async function explain(t: ExecutionContext, lab: string, service: string): Promise<Explained> {
  return JSON.parse((await ok(t, ['explain', service, '--lab', lab, '-o', 'json'])).stdout) as Explained;
}

e2e('explain in nftables mode: the service-ips element, the service chain, three 1/3 branches to each pod\'s dnat; reject without endpoints', async (t) => {
  const lab = useLab(t, 'explain-nft');
  await ok(t, ['up', '--lab', lab, '-c', proxyModeConfig('nftables'), '-f', tempFile('explain.yaml', MANIFEST)]);
  const podIPs = (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-')).map((p) => `${p.status.podIP}:8080`);
  t.is(podIPs.length, 3);

  const web = await explain(t, lab, 'svc/web');
  t.is(web.proxyMode, 'nftables');
  const [clusterIP, nodePort] = web.tree;
  t.like(clusterIP, { chain: 'services' });
  t.regex(clusterIP!.rule, new RegExp(`^@service-ips \\{ ${web.clusterIP.replaceAll('.', '\\.')} \\. tcp \\. 80 : goto service-[A-Z2-7]{8}-default/web/tcp/http \\}$`));
  const spread = clusterIP!.children.find((c) => c.rule === 'numgen random mod 3 vmap');
  t.truthy(spread, `the service chain spreads over three endpoints: ${clusterIP!.children.map((c) => c.rule).join(' | ')}`);
  t.regex(clusterIP!.children[0]!.chain ?? '', /^service-[A-Z2-7]{8}-default\/web\/tcp\/http$/);
  t.deepEqual(spread!.children.map((b) => b.share), [1 / 3, 1 / 3, 1 / 3]);
  const dnats = spread!.children.map((b) => b.children.find((c) => c.dnat)?.dnat);
  t.deepEqual([...dnats].sort(), [...podIPs].sort(), 'each branch ends in one web pod\'s dnat to');
  for (const b of spread!.children) t.regex(b.children[0]!.chain ?? '', /^endpoint-[A-Z2-7]{8}-default\/web\/tcp\/http__10\.42\.\d+\.\d+\/8080$/);
  t.regex(nodePort!.rule, /^@service-nodeports \{ tcp \. 30080 : goto external-[A-Z2-7]{8}-default\/web\/tcp\/http \}$/);
  t.true(JSON.stringify(web.tree).indexOf('"packets"') === -1, 'kube-proxy\'s nftables rules carry no counters');

  const text = (await ok(t, ['explain', 'svc/web', '--lab', lab])).stdout;
  t.regex(text, /^services: @service-ips \{ 10\.43\.\d+\.\d+ \. tcp \. 80 : goto service-\S+ \}$/m);
  t.is(text.match(/33\.3% \(numgen random mod 3 = \d\)/g)?.length, 6, 'three branches under the ClusterIP and three under the NodePort');
  for (const ip of podIPs) t.regex(text, new RegExp(`meta l4proto tcp dnat to ${ip.replaceAll('.', '\\.')}$`, 'm'));
  t.notRegex(text, /pkts\]/);

  const empty = await explain(t, lab, 'svc/empty');
  t.is(empty.tree.length, 1);
  t.like(empty.tree[0], { chain: 'service-endpoints-check', rule: `@no-endpoint-services { ${empty.clusterIP} . tcp . 80 comment "default/empty" : goto reject-chain }` });
  t.deepEqual(empty.tree[0]!.children.map((c) => [c.chain, c.rule]), [['reject-chain', 'reject']]);
});
