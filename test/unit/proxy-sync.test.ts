// Partial and chunked syncs. A partial sync must leave the node exactly as a full sync of the
// same snapshot would: that is checked by replaying both through the restore model (which
// behaves like iptables-restore --noflush) and comparing every chain, not just by reading text.
import test from 'ava';
import { applyRestore, parseIptablesSave, ruleTarget, type Ruleset } from '../../src/proxy/iptables-save.js';
import { renderJumpRules, renderSync, type RenderOptions, type SyncState } from '../../src/proxy/render.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.0.2'], clusterCIDR: '10.42.0.0/16' };

function service(i: number, endpoints = 3, extra: Partial<ServiceSnapshot['service']> = {}): ServiceSnapshot {
  return {
    service: { namespace: 'ns', name: `svc${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster', ...extra },
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ ip: `10.42.${j}.${i & 255}`, port: 8080, ready: true, nodeName: j === 0 ? 'node-a' : 'node-b' })),
  };
}

function snapshot(n: number): ProxySnapshot {
  return { services: Array.from({ length: n }, (_, i) => service(i + 1)) };
}

/** A node's tables after the jump rules and then each transaction, in order. */
function apply(transactions: readonly string[], start: Ruleset = parseIptablesSave(renderJumpRules())): Ruleset {
  for (const text of transactions) applyRestore(start, text);
  return start;
}

/** Every chain with its rules, for comparing two nodes. */
function dump(rules: Ruleset): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [table, chains] of rules) for (const [name, chain] of chains) out[`${table}/${name}`] = chain.rules.map((r) => r.args.join(' '));
  return out;
}

function declaredChains(transactions: readonly string[]): string[] {
  return transactions.join('').split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
}

test('a full sync (no previous state) writes every chain in one transaction and reports it', (t) => {
  const out = renderSync(snapshot(3), NODE);
  t.is(out.transactions.length, 1);
  t.is(out.chunks, 0);
  t.false(out.stats.partial);
  t.is(out.stats.services, 3);
  t.is(Object.keys(out.state.chains).length, 3 * 4); // a KUBE-SVC and three KUBE-SEP each
  t.is(out.stats.chains, 10 + 12);
  t.is(out.stats.rules, out.transactions[0]!.split('\n').filter((l) => l.startsWith('-A ')).length);
  t.deepEqual(JSON.parse(JSON.stringify(out.state)), out.state, 'the state survives JSON');
});

test('changing one endpoint rewrites only that Service\'s chains, plus the top-level ones', (t) => {
  const before = snapshot(5);
  const full = renderSync(before, NODE);
  const after = snapshot(5);
  after.services[2]!.endpoints[1]!.ip = '10.42.9.9';
  const partial = renderSync(after, NODE, full.state);
  t.true(partial.stats.partial);
  t.is(partial.transactions.length, 1);
  const written = declaredChains(partial.transactions);
  const serviceChains = written.filter((c) => /^KUBE-(SVC|SEP|EXT|SVL|FW)-/.test(c));
  const oldSep = Object.keys(full.state.chains).filter((c) => !(c in partial.state.chains));
  t.is(oldSep.length, 1, 'the old endpoint chain is gone from the state');
  // svc3's KUBE-SVC (new jump) and the new KUBE-SEP, plus the old KUBE-SEP declared for deletion.
  t.is(serviceChains.length, 3);
  t.true(serviceChains.includes(oldSep[0]!));
  t.true(partial.transactions[0]!.includes(`-X ${oldSep[0]}\n`));
  for (const chain of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-FORWARD', 'KUBE-EXTERNAL-SERVICES']) t.true(written.includes(chain), chain);
  t.is(partial.stats.deletedChains, 1);
  // Applied on top of the full sync, the node ends up as a fresh full sync would leave it.
  t.deepEqual(dump(apply(partial.transactions, apply(full.transactions))), dump(apply(renderSync(after, NODE).transactions)));
});

test('a partial sync with nothing changed rewrites only the top-level chains', (t) => {
  const full = renderSync(snapshot(4), NODE);
  const again = renderSync(snapshot(4), NODE, full.state);
  t.deepEqual(declaredChains(again.transactions).filter((c) => c.startsWith('KUBE-SVC-') || c.startsWith('KUBE-SEP-')), []);
  t.regex(again.transactions[0]!, /-A KUBE-SERVICES -m comment --comment "ns\/svc4:http cluster IP"/, 'KUBE-SERVICES still jumps to every Service');
  t.deepEqual(again.state, full.state);
});

test('removing a Service deletes its chains with a chain line and -X', (t) => {
  const full = renderSync(snapshot(3), NODE);
  const without = { services: snapshot(3).services.filter((s) => s.service.name !== 'svc2') };
  const partial = renderSync(without, NODE, full.state);
  const gone = Object.keys(full.state.chains).filter((c) => !(c in partial.state.chains));
  t.is(gone.length, 4);
  for (const chain of gone) {
    t.true(partial.transactions[0]!.includes(`:${chain} - [0:0]\n`), `${chain} is flushed`);
    t.true(partial.transactions[0]!.includes(`-X ${chain}\n`), `${chain} is deleted`);
  }
  const node = apply(partial.transactions, apply(full.transactions));
  for (const chain of gone) t.false(node.get('nat')!.has(chain), `${chain} no longer exists`);
  t.deepEqual(dump(node), dump(apply(renderSync(without, NODE).transactions)));
});

test('a full sync after the state was lost rewrites everything, and deletes stale chains it is told exist', (t) => {
  const full = renderSync(snapshot(3), NODE);
  const node = apply(full.transactions);
  const without = { services: snapshot(3).services.slice(1) };
  const blind = renderSync(without, NODE);
  t.is(declaredChains(blind.transactions).filter((c) => c.startsWith('KUBE-SEP-')).length, 6, 'every remaining chain is written');
  t.is(blind.stats.deletedChains, 0, 'without a state or a list of chains it cannot know what is stale');
  const told = renderSync(without, NODE, undefined, { existingChains: [...node.get('nat')!.keys()] });
  t.false(told.stats.partial);
  t.is(told.stats.deletedChains, 4);
  t.deepEqual(dump(apply(told.transactions, node)), dump(apply(blind.transactions)));
});

test('1,200 Services with chunks of 500: 4 transactions, KUBE-SERVICES last, every jump target declared no later', (t) => {
  const out = renderSync(snapshot(1200), NODE, undefined, { chunkServices: 500 });
  t.is(out.transactions.length, 4);
  const last = out.transactions[3]!;
  t.regex(last, /^:KUBE-SERVICES - \[0:0\]$/m);
  for (const chunk of out.transactions.slice(0, 3)) t.notRegex(chunk, /KUBE-SERVICES/);
  t.is(declaredChains(out.transactions.slice(0, 3)).filter((c) => c.startsWith('KUBE-SVC-')).length, 1200);
  const declared = new Set<string>(['KUBE-MARK-MASQ']);
  out.transactions.forEach((text, i) => {
    for (const chain of declaredChains([text])) declared.add(chain);
    const lines = text.split('\n').filter((l) => l.startsWith('-A '));
    const missing = lines.map((l) => ruleTarget(l.split(' '))).filter((target): target is string => !!target && target.startsWith('KUBE-') && !declared.has(target));
    t.deepEqual(missing, [], `transaction ${i + 1} jumps only to chains declared in it or before it`);
  });
  // And iptables-restore (modelled) accepts them in order on a fresh node.
  t.notThrows(() => apply(out.transactions));
  t.deepEqual(dump(apply(out.transactions)), dump(apply(renderSync(snapshot(1200), NODE, undefined, { chunkServices: 5000 }).transactions)));
});

test('a small sync is one transaction; a partial sync of one Service among 1,200 is too', (t) => {
  t.is(renderSync(snapshot(500), NODE, undefined, { chunkServices: 500 }).transactions.length, 1);
  const full = renderSync(snapshot(1200), NODE);
  const changed = snapshot(1200);
  changed.services[7]!.endpoints.pop();
  const partial = renderSync(changed, NODE, full.state);
  t.is(partial.transactions.length, 1);
  t.is(declaredChains(partial.transactions).filter((c) => c.startsWith('KUBE-SVC-')).length, 1);
});

test('a previous state survives a JSON round trip (the agent may keep it on disk)', (t) => {
  const full = renderSync(snapshot(2), NODE);
  const state = JSON.parse(JSON.stringify(full.state)) as SyncState;
  t.deepEqual(renderSync(snapshot(2), NODE, state).transactions, renderSync(snapshot(2), NODE, full.state).transactions);
});

test('chunkServices must be a positive integer', (t) => {
  t.throws(() => renderSync(snapshot(1), NODE, undefined, { chunkServices: 0 }), { instanceOf: RangeError });
});

test("topLevelChains 'when-changed' (not upstream) skips unchanged top-level chains and still converges", (t) => {
  const full = renderSync(snapshot(5), NODE);
  const moved = snapshot(5);
  moved.services[1]!.endpoints[0]!.ip = '10.42.8.8';
  const fast = renderSync(moved, NODE, full.state, { topLevelChains: 'when-changed' });
  t.is(fast.transactions.length, 1);
  t.notRegex(fast.transactions[0]!, /^\*filter$/m, 'no filter chain changed');
  t.deepEqual(declaredChains(fast.transactions).filter((c) => !/^KUBE-(SVC|SEP)-/.test(c)), [], 'only the Service\'s own chains');
  t.deepEqual(dump(apply(fast.transactions, apply(full.transactions))), dump(apply(renderSync(moved, NODE).transactions)));

  const removed = { services: moved.services.slice(1) };
  const fastRemove = renderSync(removed, NODE, fast.state, { topLevelChains: 'when-changed' });
  t.true(declaredChains(fastRemove.transactions).includes('KUBE-SERVICES'), 'a removed Service changes KUBE-SERVICES, which is rewritten');
  t.deepEqual(dump(apply(fastRemove.transactions, apply(fast.transactions, apply(full.transactions)))), dump(apply(renderSync(removed, NODE).transactions)));

  t.deepEqual(renderSync(removed, NODE, fastRemove.state, { topLevelChains: 'when-changed' }).transactions, [], 'nothing changed: nothing to restore');
});

/** Every kind of Service port chain: NodePort (KUBE-EXT), Local policies (KUBE-SVL), affinity, UDP, none. */
function mixed(n: number, shift = 0): ProxySnapshot {
  const services: ServiceSnapshot[] = [];
  for (let i = 1; i <= n; i++) {
    const kind = (i + shift) % 7;
    const extra: Partial<ServiceSnapshot['service']> =
      kind === 1 ? { nodePort: 30000 + i } : kind === 2 ? { nodePort: 30000 + i, externalTrafficPolicy: 'Local' } : kind === 3 ? { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600 } : kind === 4 ? { protocol: 'UDP', port: 53, portName: 'dns' } : kind === 5 ? { internalTrafficPolicy: 'Local' } : {};
    services.push(service(i, kind === 6 ? 0 : 3, extra));
  }
  return { services };
}

const SERVICE_CHAIN = /^KUBE-(SVC|SVL|EXT|SEP|FW)-/;
const TAIL = /^-m comment --comment kubernetes service nodeports; NOTE: this must be the last rule in this chain -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS$/;

test('a chunked full sync onto a fresh node ends with exactly the rules of a one-transaction full sync, the NodePorts tail rule last', (t) => {
  const snap = mixed(200);
  const single = renderSync(snap, NODE, undefined, { chunkServices: 10_000 });
  t.is(single.transactions.length, 1);
  const expected = dump(apply(single.transactions));
  const withChains = snap.services.filter((s) => s.endpoints.length > 0).length;
  for (const chunkServices of [1, 7, 50, withChains - 1]) {
    const chunked = renderSync(snap, NODE, undefined, { chunkServices });
    t.is(chunked.transactions.length, Math.ceil(withChains / chunkServices) + 1, `chunks of ${chunkServices}: the Services with chains, then the top-level chains`);
    // The model refuses a jump to a chain that does not exist yet, line by line, as iptables-nft does.
    const node = apply(chunked.transactions);
    t.deepEqual(dump(node), expected, `chunks of ${chunkServices}`);
    t.regex(node.get('nat')!.get('KUBE-SERVICES')!.rules.at(-1)!.args.join(' '), TAIL);
    for (const text of chunked.transactions.slice(0, -1)) t.deepEqual(declaredChains([text]).filter((c) => !SERVICE_CHAIN.test(c)), ['KUBE-MARK-MASQ'], 'chunks hold per-service chains only');
    // The chunks do not depend on each other: in any order (here backwards), the same node.
    t.is(chunked.chunks, chunked.transactions.length - 1);
    const backwards = [...chunked.transactions.slice(0, chunked.chunks).reverse(), ...chunked.transactions.slice(chunked.chunks)];
    t.deepEqual(dump(apply(backwards)), expected, `chunks of ${chunkServices}, applied backwards`);
    t.deepEqual(chunked.state, single.state);
    t.deepEqual(chunked.stats, { ...single.stats, rules: single.stats.rules + (chunked.transactions.length - 1) * 1 }, 'each chunk adds one KUBE-MARK-MASQ rule');
  }
});

test('a chunked full resync of a node that has rules (no state) changes KUBE-SERVICES only in its last transaction and leaves a fresh node\'s rules', (t) => {
  const node = apply(renderSync(mixed(150), NODE, undefined, { chunkServices: 40 }).transactions);
  const before = dump(node);
  // Other endpoints for most Services, 30 Services gone, kinds shuffled.
  const after = mixed(120, 3);
  for (const s of after.services) for (const ep of s.endpoints) ep.port = 8443;
  const resync = renderSync(after, NODE, undefined, { chunkServices: 40, existingChains: [...node.get('nat')!.keys()] });
  t.true(resync.transactions.length > 2);
  resync.transactions.forEach((text, i) => {
    applyRestore(node, text); // throws on a jump to a missing chain or the deletion of a chain in use
    if (i === resync.transactions.length - 1) return;
    for (const chain of ['nat/KUBE-SERVICES', 'nat/KUBE-NODEPORTS', 'filter/KUBE-SERVICES', 'filter/KUBE-EXTERNAL-SERVICES']) t.deepEqual(dump(node)[chain], before[chain], `${chain} after transaction ${i + 1}`);
  });
  t.true(resync.stats.deletedChains > 0);
  t.deepEqual(dump(node), dump(apply(renderSync(after, NODE).transactions)));
});

/**
 * iptables-nft 1.8.9's restore keeps the chains a transaction names in a sorted linked list
 * (cache_chain_list_insert): every chain line and every rule walks it up to its chain, and again
 * up to its jump target. Counts the string comparisons of that walk.
 */
function chainListComparisons(text: string): number {
  const list: string[] = [];
  let comparisons = 0;
  const insert = (name: string): void => {
    let i = 0;
    for (; i < list.length; i++) {
      comparisons++;
      if (list[i]! >= name) break;
    }
    if (list[i] !== name) list.splice(i, 0, name);
  };
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) insert(line.slice(1).split(' ')[0]!);
    if (!line.startsWith('-A ')) continue;
    const words = line.split(' ');
    insert(words[1]!);
    const target = ruleTarget(words);
    if (target?.startsWith('KUBE-')) insert(target);
  }
  return comparisons;
}

/** A KUBE-SEP chain. */
function isEndpoint(chain: string): boolean {
  return chain.startsWith('KUBE-SEP-');
}

test('inside a chunk each Service writes its endpoint chains first, each kind by descending name; a fresh node\'s chunks by name only', (t) => {
  const snap = mixed(700);
  const chunkOf = (options: RenderOptions): string[] => declaredChains([renderSync(snap, NODE, undefined, { chunkServices: 500, ...options }).transactions[0]!]).slice(1); // after KUBE-MARK-MASQ
  const byService = chunkOf({});
  const byName = chunkOf({ freshNode: true });
  t.deepEqual([...byService].sort(), [...byName].sort(), 'the same chains');
  // by service: runs of endpoint chains, each followed by its Service's own chains.
  const runs: string[][] = [];
  for (const chain of byService) {
    const last = runs.at(-1);
    if (last && (isEndpoint(chain) === isEndpoint(last.at(-1)!) || !isEndpoint(chain))) last.push(chain);
    else runs.push([chain]);
  }
  for (const run of runs) {
    const endpoints = run.filter(isEndpoint);
    t.deepEqual(run, [...endpoints, ...run.filter((c) => !isEndpoint(c))]);
    t.deepEqual(endpoints, [...endpoints].sort().reverse());
    t.deepEqual(run.slice(endpoints.length), run.slice(endpoints.length).sort().reverse());
  }
  t.true(runs.length > 400, 'one run per Service');
  // by name: all endpoint chains, then all the others, each by descending name.
  const endpoints = byName.filter(isEndpoint);
  t.deepEqual(byName, [...[...endpoints].sort().reverse(), ...byName.filter((c) => !isEndpoint(c)).sort().reverse()]);

  // What either order saves, against the same chains in upstream's layout (every chain line,
  // then every rule, Service by Service), as iptables-nft 1.8.9 counts.
  const text = (options: RenderOptions): string => renderSync(snap, NODE, undefined, { chunkServices: 500, ...options }).transactions[0]!;
  const key = (s: ServiceSnapshot): string => `${s.service.name}:${s.service.portName}/${s.service.protocol}`;
  const first500 = snap.services.filter((s) => s.endpoints.length > 0).sort((a, b) => (key(a) < key(b) ? -1 : 1)).slice(0, 500);
  const single = renderSync({ services: first500 }, NODE, undefined, { chunkServices: 500 }).transactions[0]!;
  const upstreamLayout = single.split('\n').filter((line) => /^(:|-A )KUBE-(SEP-|SVC-|SVL-|EXT-|MARK-MASQ )/.test(line)).join('\n');
  t.deepEqual(declaredChains([upstreamLayout]).sort(), [...byService, 'KUBE-MARK-MASQ'].sort(), 'the same chains');
  const upstream = chainListComparisons(upstreamLayout);
  t.true(chainListComparisons(text({})) < 0.8 * upstream, `by service: ${chainListComparisons(text({}))} vs ${upstream} comparisons`);
  t.true(chainListComparisons(text({ freshNode: true })) < 0.7 * upstream, `by name: ${chainListComparisons(text({ freshNode: true }))} vs ${upstream} comparisons`);
});

test('freshNode is a hint: the same chunks, the same rules', (t) => {
  const snap = mixed(700);
  const fresh = renderSync(snap, NODE, undefined, { freshNode: true });
  const plain = renderSync(snap, NODE);
  t.is(fresh.chunks, Math.ceil(600 / 500));
  t.is(plain.chunks, fresh.chunks);
  t.deepEqual(dump(apply(fresh.transactions)), dump(apply(plain.transactions)));
  t.deepEqual(fresh.state, plain.state);
});
