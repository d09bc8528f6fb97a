// Partial and chunked nftables syncs. A partial sync must leave the table exactly as a full sync
// of the same snapshot would: that is checked by replaying both through the nft model (which
// refuses what nft refuses) and comparing the whole table, not only by reading text.
import test from 'ava';
import { renderNftSync, type NftSyncOptions, type NftSyncResult, type NftSyncState } from '../../src/proxy/nftables/index.js';
import { applyNft, dumpNft, emptyNftTable, type NftTableModel } from '../../src/proxy/nftables/model.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.0.2'], clusterCIDR: '10.42.0.0/16' };
const OPTIONS: NftSyncOptions = { serviceCIDRs: ['10.43.0.0/16'] };

function service(i: number, endpoints = 3, extra: Partial<ServiceSnapshot['service']> = {}): ServiceSnapshot {
  return {
    service: { namespace: 'ns', name: `svc${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster', ...extra },
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ ip: `10.42.${j}.${i & 255}`, port: 8080, ready: true, nodeName: j === 0 ? 'node-a' : 'node-b' })),
  };
}

function snapshot(n: number): ProxySnapshot {
  return { services: Array.from({ length: n }, (_, i) => service(i + 1)) };
}

function apply(result: NftSyncResult, table: NftTableModel = emptyNftTable()): NftTableModel {
  for (const text of result.transactions) applyNft(table, text);
  return table;
}

/** What a node holds after a fresh full sync of `snap`. */
function fresh(snap: ProxySnapshot, options: NftSyncOptions = OPTIONS): string {
  return dumpNft(apply(renderNftSync(snap, NODE, undefined, options)));
}

/** Full sync of `before`, then a partial sync to `after`; returns the partial and the table after it. */
function fullThenPartial(before: ProxySnapshot, after: ProxySnapshot, options: NftSyncOptions = OPTIONS) {
  const full = renderNftSync(before, NODE, undefined, options);
  const table = apply(full);
  const partial = renderNftSync(after, NODE, full.state, options);
  apply(partial, table);
  return { full, partial, table };
}

test('a full sync with no previous state is one transaction for a small snapshot, and its state survives JSON', (t) => {
  const out = renderNftSync(snapshot(3), NODE, undefined, OPTIONS);
  t.is(out.transactions.length, 1);
  t.false(out.stats.partial);
  t.is(out.stats.services, 3);
  t.is(out.stats.rules, 3 * (2 + 3 * 2));
  t.is(out.stats.elementsAdded, 6);
  t.deepEqual(out.state.ports.map((p) => p.chains.length), [4, 4, 4]);
  t.deepEqual(JSON.parse(JSON.stringify(out.state)), out.state);
});

test('moving one endpoint writes only that port: its chains, a flush of the old endpoint chain, then its deletion', (t) => {
  const before = snapshot(5);
  const after = snapshot(5);
  after.services[2]!.endpoints[1]!.ip = '10.42.9.9';
  const { full, partial, table } = fullThenPartial(before, after);
  t.true(partial.stats.partial);
  t.is(partial.stats.writtenServices, 1);
  t.is(partial.stats.deletedChains, 1);
  t.is(partial.transactions.length, 2, 'the change, then the deletion nft must read the table for');
  const [live, cleanup] = partial.transactions as [string, string];
  t.notRegex(live, /^(delete|add rule|add element) /m, 'nothing in the change makes nft 1.0.6 read every chain and set');
  t.regex(live, /^add chain ip kube-proxy endpoint-\S+__10\.42\.9\.9\/8080 \{/m);
  const stale = full.state.ports[2]!.chains.find((c) => c.includes('__10.42.1.3/'))!;
  t.regex(live, new RegExp(`^flush chain ip kube-proxy ${stale.replaceAll('.', '\\.')}$`, 'm'));
  t.is(cleanup, `delete chain ip kube-proxy ${stale}\n`);
  t.is(dumpNft(table), fresh(after), 'the node looks as if it had only ever had a full sync of the new snapshot');
});

test('a partial sync with nothing changed has nothing to do', (t) => {
  const full = renderNftSync(snapshot(4), NODE, undefined, OPTIONS);
  const again = renderNftSync(snapshot(4), NODE, full.state, OPTIONS);
  t.deepEqual(again.transactions, []);
  t.deepEqual(again.state, full.state);
  t.is(again.stats.writtenServices, 0);
});

test('a state read back from JSON (no memo) gives the same partial sync', (t) => {
  const full = renderNftSync(snapshot(6), NODE, undefined, OPTIONS);
  const after = snapshot(6);
  after.services[4]!.endpoints.pop();
  const withMemo = renderNftSync(after, NODE, full.state, OPTIONS);
  const fromJSON = renderNftSync(after, NODE, JSON.parse(JSON.stringify(full.state)) as NftSyncState, { ...OPTIONS, memo: false });
  t.deepEqual(fromJSON.transactions, withMemo.transactions);
  t.deepEqual(fromJSON.state, withMemo.state);
});

test('removing a Service deletes its elements and chains; adding one adds them', (t) => {
  const before = snapshot(4);
  const after: ProxySnapshot = { services: [...snapshot(4).services.filter((s) => s.service.name !== 'svc2'), service(9)] };
  const { partial, table } = fullThenPartial(before, after);
  t.is(partial.stats.writtenServices, 1);
  t.is(partial.stats.deletedChains, 4);
  t.is(partial.stats.elementsAdded, 2);
  t.is(partial.stats.elementsDeleted, 2);
  const [live, cleanup] = partial.transactions as [string, string];
  t.regex(live, /^add set ip kube-proxy cluster-ips \{ .* elements = \{ 10\.43\.0\.9 \} ; \}$/m);
  t.regex(cleanup, /^delete element ip kube-proxy service-ips \{ 10\.43\.0\.2 \. tcp \. 80 \}$/m);
  t.regex(cleanup, /^delete element ip kube-proxy cluster-ips \{ 10\.43\.0\.2 \}$/m);
  t.is(dumpNft(table), fresh(after));
});

test('losing the last endpoint moves the port from service-ips to no-endpoint-services, and back', (t) => {
  const before = snapshot(3);
  const empty = snapshot(3);
  empty.services[1]!.endpoints = [];
  const { partial, table } = fullThenPartial(before, empty);
  t.is(partial.stats.deletedChains, 4);
  t.regex(partial.transactions.join(''), /no-endpoint-services .* elements = \{ 10\.43\.0\.2 \. tcp \. 80 comment "ns\/svc2:http" : goto reject-chain \}/);
  t.is(dumpNft(table), fresh(empty));
  const back = renderNftSync(before, NODE, partial.state, OPTIONS);
  apply(back, table);
  t.is(dumpNft(table), fresh(before));
});

test('a NodePort Service with externalTrafficPolicy Local losing its local endpoint drops node-port traffic', (t) => {
  const local = (snap: ProxySnapshot) => ({ services: snap.services.map((s, i) => (i === 0 ? { ...s, service: { ...s.service, nodePort: 30001, externalTrafficPolicy: 'Local' as const } } : s)) });
  const before = local(snapshot(2));
  const after = local(snapshot(2));
  after.services[0]!.endpoints = after.services[0]!.endpoints.filter((ep) => ep.nodeName !== 'node-a');
  const { partial, table } = fullThenPartial(before, after);
  t.regex(partial.transactions[0]!, /no-endpoint-nodeports .* elements = \{ tcp \. 30001 comment "ns\/svc1:http" : drop \}/);
  t.is(partial.stats.deletedChains, 2, 'the local- chain and the local endpoint chain');
  t.is(dumpNft(table), fresh(after));
});

test('changing the affinity timeout replaces the sets (flush the chains using them, delete, declare again)', (t) => {
  const sticky = (seconds: number) => ({ services: snapshot(2).services.map((s) => ({ ...s, service: { ...s.service, sessionAffinity: 'ClientIP' as const, affinityTimeoutSeconds: seconds } })) });
  const { partial, table } = fullThenPartial(sticky(10800), { services: [sticky(600).services[0]!, sticky(10800).services[1]!] });
  t.is(partial.stats.writtenServices, 1);
  t.regex(partial.transactions[0]!, /^delete set ip kube-proxy affinity-\S+ns\/svc1\/tcp\/http__10\.42\.0\.1\/8080$/m);
  t.regex(partial.transactions[0]!, /timeout 600s/);
  t.is(dumpNft(table), fresh({ services: [sticky(600).services[0]!, sticky(10800).services[1]!] }));
  // Turning affinity off deletes the sets after the chains that used them are rewritten.
  const off = renderNftSync(snapshot(2), NODE, partial.state, OPTIONS);
  t.is(off.stats.deletedSets, 6);
  apply(off, table);
  t.is(dumpNft(table), fresh(snapshot(2)));
});

test('two ports of one Service share a cluster IP: removing one port keeps the element', (t) => {
  const twoPorts = (withHttps: boolean): ProxySnapshot => {
    const http = service(1);
    const https = { ...service(1), service: { ...service(1).service, portName: 'https', port: 443 } };
    return { services: withHttps ? [http, https] : [http] };
  };
  const { partial, table } = fullThenPartial(twoPorts(true), twoPorts(false));
  t.notRegex(partial.transactions.join(''), /delete element ip kube-proxy cluster-ips/);
  t.regex(partial.transactions.join(''), /delete element ip kube-proxy service-ips \{ 10\.43\.0\.1 \. tcp \. 443 \}/);
  t.is(dumpNft(table), fresh(twoPorts(false)));
});

test('a large full sync is chunked: setup, chains in chunks, then elements; the same table as one transaction', (t) => {
  const snap = snapshot(300);
  const chunked = renderNftSync(snap, NODE, undefined, { ...OPTIONS, chunkLines: 500 });
  t.true(chunked.transactions.length > 5);
  for (const text of chunked.transactions.slice(1, -1)) {
    t.true(text.split('\n').length <= 500 + 3);
    t.notRegex(text, /^(delete|add rule|add element|flush (set|map)) /m);
  }
  t.regex(chunked.transactions.at(-1)!, /^flush map ip kube-proxy service-ips$/m);
  const table = apply(chunked);
  t.is(dumpNft(table), fresh(snap, { ...OPTIONS, chunkLines: 1_000_000 }));
});

test('a chunked full sync on top of an old table replaces it (stale chains of the previous state go)', (t) => {
  const full = renderNftSync(snapshot(50), NODE, undefined, OPTIONS);
  const table = apply(full);
  const next = snapshot(40);
  const again = renderNftSync(next, NODE, full.state, { ...OPTIONS, fullSync: true, chunkLines: 200 });
  t.false(again.stats.partial);
  t.is(again.stats.deletedChains, 40);
  apply(again, table);
  t.is(dumpNft(table), fresh(next));
});

test('without a state, chains and sets the kernel lists are cleaned up by a full sync', (t) => {
  const table = apply(renderNftSync(snapshot(5), NODE, undefined, OPTIONS));
  const chains = [...table.chains.keys()];
  const sync = renderNftSync(snapshot(3), NODE, undefined, { ...OPTIONS, existingChains: chains, existingSets: [...table.containers.keys()] });
  t.is(sync.stats.deletedChains, 8);
  apply(sync, table);
  t.is(dumpNft(table), fresh(snapshot(3)));
});

test('a change of node-level inputs (Service CIDRs, node IPs) makes the next sync a full one', (t) => {
  const full = renderNftSync(snapshot(2), NODE, undefined, OPTIONS);
  const next = renderNftSync(snapshot(2), { ...NODE, nodeIPs: ['192.168.0.3'] }, full.state, OPTIONS);
  t.false(next.stats.partial);
  t.regex(next.transactions[0]!, /nodeport-ips \{ .* elements = \{ 192\.168\.0\.3 \} ; \}/);
});

test('the memo renders only the ports whose inputs changed, even when the snapshot is edited in place', (t) => {
  const snap = snapshot(20);
  const full = renderNftSync(snap, NODE, undefined, OPTIONS);
  snap.services[7]!.endpoints[0]!.port = 9090;
  const partial = renderNftSync(snap, NODE, full.state, OPTIONS);
  t.is(partial.stats.writtenServices, 1);
  t.regex(partial.transactions[0]!, /dnat to 10\.42\.0\.8:9090/);
  t.is(partial.state.ports[3], full.state.ports[3], 'unchanged ports share their record with the previous state');
});

test("deleteStale 'later' only empties stale chains; a later sync with 'now' (or a full sync) deletes them", (t) => {
  const before = snapshot(4);
  const moved = snapshot(4);
  moved.services[1]!.endpoints[0]!.ip = '10.42.8.8';
  const full = renderNftSync(before, NODE, undefined, OPTIONS);
  const table = apply(full);
  const later = renderNftSync(moved, NODE, full.state, { ...OPTIONS, deleteStale: 'later' });
  t.is(later.transactions.length, 1, 'no transaction that makes nft read the table');
  t.is(later.stats.deletedChains, 0);
  t.is(later.state.pending?.chains.length, 1);
  apply(later, table);
  const stale = later.state.pending!.chains[0]!;
  t.deepEqual(table.chains.get(stale)?.rules, [], 'emptied, still there');
  // The endpoint comes back before the chain was deleted: the chain is live again, not deleted.
  const back = renderNftSync(before, NODE, later.state, { ...OPTIONS, deleteStale: 'later' });
  t.false(back.state.pending?.chains.includes(stale) ?? false);
  apply(back, table);
  const cleanup = renderNftSync(before, NODE, back.state, OPTIONS);
  t.is(cleanup.stats.deletedChains, 1, "the other endpoint's chain, emptied by the previous sync");
  apply(cleanup, table);
  t.is(cleanup.state.pending, undefined);
  t.is(dumpNft(table), fresh(before));
});
