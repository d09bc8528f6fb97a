// The render cache must be invisible: a sync that reuses remembered Service ports returns exactly
// what rendering everything afresh returns (transactions, state and stats), whatever happened to
// the snapshot in between, including edits made in place to the objects of the last snapshot.
import test from 'ava';
import { applyRestore, parseIptablesSave, type Ruleset } from '../../src/proxy/iptables-save.js';
import { RenderCache, renderJumpRules, renderSync, type RenderOptions, type SyncResult, type SyncState } from '../../src/proxy/render.js';
import type { EndpointInfo, NodeContext, ProxySnapshot, ServicePortInfo, ServiceSnapshot } from '../../src/proxy/types.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.0.2'], clusterCIDR: '10.42.0.0/16' };

function service(i: number, endpoints = 3): ServiceSnapshot {
  return {
    service: { namespace: 'ns', name: `svc${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' },
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ ip: `10.42.${j}.${i & 255}`, port: 8080, ready: true, nodeName: j === 0 ? 'node-a' : 'node-b' })),
  };
}

/** A small deterministic random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function dump(rules: Ruleset): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [table, chains] of rules) for (const [name, chain] of chains) out[`${table}/${name}`] = chain.rules.map((r) => r.args.join(' '));
  return out;
}

function fullSyncOf(snapshot: ProxySnapshot, node: NodeContext): Record<string, string[]> {
  const rules = parseIptablesSave(renderJumpRules());
  for (const text of renderSync(snapshot, node, undefined, { cache: false }).transactions) applyRestore(rules, text);
  return dump(rules);
}

/** The changes a cluster goes through, each made in place on the snapshot the last sync saw. */
const CHANGES: ((snap: ProxySnapshot, pick: () => ServiceSnapshot, n: () => number) => string)[] = [
  (_s, pick, n) => ((pick().endpoints[0] ??= { ip: '10.42.9.1', port: 8080, ready: true }).ip = `10.42.7.${n()}`, 'an endpoint moves'),
  (_s, pick, n) => (pick().endpoints.push({ ip: `10.42.8.${n()}`, port: 8080, ready: true, nodeName: 'node-a' }), 'an endpoint is added'),
  (_s, pick) => (pick().endpoints.pop(), 'an endpoint goes'),
  (_s, pick) => {
    const ep = pick().endpoints[0];
    if (ep) ep.ready = !ep.ready;
    return 'an endpoint becomes (un)ready';
  },
  (s, _p, n) => (s.services.splice(n() % Math.max(1, s.services.length), 1), 'a Service goes'),
  (s, _p, n) => (s.services.push(service(100 + n())), 'a Service comes'),
  (_s, pick, n) => ((pick().service.nodePort = 30000 + n()), 'a node port is set'),
  (_s, pick) => {
    const s = pick().service;
    s.externalTrafficPolicy = s.externalTrafficPolicy === 'Local' ? 'Cluster' : 'Local';
    return 'the external traffic policy flips';
  },
  (_s, pick) => ((pick().service.internalTrafficPolicy = 'Local'), 'the internal traffic policy becomes Local'),
  (_s, pick, n) => {
    const s = pick().service;
    s.sessionAffinity = 'ClientIP';
    s.affinityTimeoutSeconds = 60 + n();
    return 'session affinity';
  },
  (s) => (s.services.reverse(), 'the snapshot lists its Services the other way round'),
  (s, pick) => (s.services.push(structuredClone(pick())), 'a port is listed twice'),
  (s, _p, n) => (s.services.push(service(200 + n(), 400)), 'a Service with 400 endpoints (large-cluster mode above 1,000)'),
  (s) => ((s.services = s.services.filter((x) => x.endpoints.length < 400)), 'the big Services go'),
];

test('a memoised sync returns exactly what rendering afresh returns, across 300 changes made in place', (t) => {
  const next = random(42);
  const n = (): number => Math.floor(next() * 250);
  const snapshot: ProxySnapshot = { services: Array.from({ length: 40 }, (_, i) => service(i + 1)) };
  let memo: SyncResult | undefined;
  let fresh: SyncResult | undefined;
  let node = NODE;
  const kernel = parseIptablesSave(renderJumpRules());
  for (let step = 0; step < 300; step++) {
    let what: string;
    if (step % 50 === 49) {
      node = { ...node, clusterCIDR: node.clusterCIDR ? '' : NODE.clusterCIDR };
      what = 'the cluster CIDR changes';
    } else {
      const pick = (): ServiceSnapshot => snapshot.services[n() % snapshot.services.length] ?? (snapshot.services[0] = service(1));
      what = CHANGES[Math.floor(next() * CHANGES.length)]!(snapshot, pick, n);
    }
    const options: RenderOptions = { chunkServices: 1 + (step % 30), topLevelChains: step % 3 === 0 ? 'always' : 'when-changed' };
    // Without a cache, from a state read back from JSON: nothing remembered from earlier syncs.
    fresh = renderSync(structuredClone(snapshot), node, fresh && (JSON.parse(JSON.stringify(fresh.state)) as SyncState), { ...options, cache: false });
    memo = renderSync(snapshot, node, memo?.state, options);
    t.deepEqual(memo.transactions, fresh.transactions, `step ${step}: ${what}`);
    t.deepEqual(memo.stats, fresh.stats, `step ${step}: ${what}`);
    t.deepEqual(JSON.parse(JSON.stringify(memo.state)), JSON.parse(JSON.stringify(fresh.state)), `step ${step}: ${what}`);
    for (const text of memo.transactions) applyRestore(kernel, text);
    if (step % 25 === 0) t.deepEqual(dump(kernel), fullSyncOf(snapshot, node), `step ${step}: the node converged`);
  }
});

test('every input of a Service port and of its endpoints is compared: a change to any of them is rendered', (t) => {
  const sample: { service: Required<ServicePortInfo>; endpoint: Required<EndpointInfo> } = {
    service: { namespace: 'ns', name: 'web', portName: 'http', protocol: 'TCP', clusterIP: '10.43.0.9', port: 80, nodePort: 30080, sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600, externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster' },
    endpoint: { ip: '10.42.0.9', port: 8080, ready: true, nodeName: 'node-a' },
  };
  const other: { [K in keyof ServicePortInfo]-?: Required<ServicePortInfo>[K] } & { [K in keyof EndpointInfo as `ep.${K}`]-?: Required<EndpointInfo>[K] } = {
    namespace: 'other',
    name: 'api',
    portName: 'https',
    protocol: 'UDP',
    clusterIP: '10.43.0.10',
    port: 81,
    nodePort: 30081,
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 601,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Local',
    'ep.ip': '10.42.0.10',
    'ep.port': 8081,
    'ep.ready': false,
    'ep.nodeName': 'node-b',
  };
  for (const field of Object.keys(other) as (keyof typeof other)[]) {
    const snapshot: ProxySnapshot = { services: [{ service: { ...sample.service }, endpoints: [{ ...sample.endpoint }, { ...sample.endpoint, ip: '10.42.1.9', nodeName: 'node-b' }] }] };
    const before = renderSync(snapshot, NODE);
    const unchanged = renderSync(structuredClone(snapshot), NODE, JSON.parse(JSON.stringify(before.state)) as SyncState, { cache: false });
    const target = snapshot.services[0]!;
    if (field.startsWith('ep.')) Object.assign(target.endpoints[0]!, { [field.slice(3)]: other[field] });
    else Object.assign(target.service, { [field]: other[field] });
    const memo = renderSync(snapshot, NODE, before.state);
    const fresh = renderSync(structuredClone(snapshot), NODE, JSON.parse(JSON.stringify(before.state)) as SyncState, { cache: false });
    t.deepEqual(memo.transactions, fresh.transactions, field);
    t.notDeepEqual(memo.transactions, unchanged.transactions, `${field} is an input of the rules`);
  }
});

test('a one-endpoint change among 2,000 Services renders one Service port; the cache forgets Services that went away', (t) => {
  const cache = new RenderCache();
  const services = Array.from({ length: 2000 }, (_, i) => service(i + 1));
  const full = renderSync({ services }, NODE, undefined, { cache });
  t.is(cache.rendered, 2000);
  const moved = services.map((s, i) => (i === 1234 ? { ...s, endpoints: [{ ...s.endpoints[0]!, ip: '10.42.99.99' }, ...s.endpoints.slice(1)] } : structuredClone(s)));
  const partial = renderSync({ services: moved }, NODE, full.state, { topLevelChains: 'when-changed' });
  t.is(cache.rendered, 2001, 'the cache came along with the state');
  t.is(partial.transactions.length, 1);
  t.is(partial.stats.deletedChains, 1);
  renderSync({ services: moved.slice(0, 1500) }, NODE, partial.state);
  t.is(cache.size, 1500);
  t.is(cache.rendered, 2001);
});

test('the state stays plain data: read back from JSON it gives the next sync the same output', (t) => {
  const services = Array.from({ length: 30 }, (_, i) => service(i + 1));
  const full = renderSync({ services }, NODE);
  const copy = JSON.parse(JSON.stringify(full.state)) as SyncState;
  t.deepEqual(copy, full.state);
  t.is(Object.keys(full.state.chains).length, 30 * 4);
  const changed = { services: services.map((s, i) => (i === 3 ? service(1000) : s)) };
  t.deepEqual(renderSync(changed, NODE, copy).transactions, renderSync(changed, NODE, full.state).transactions);
  t.deepEqual(renderSync(changed, NODE, copy, { topLevelChains: 'when-changed' }).transactions, renderSync(changed, NODE, full.state, { topLevelChains: 'when-changed' }).transactions);
});
