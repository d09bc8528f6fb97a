// Partial and chunked syncs. A partial sync must leave the node exactly as a full sync of the
// same snapshot would: that is checked by replaying both through the restore model (which
// behaves like iptables-restore --noflush) and comparing every chain, not just by reading text.
import test from 'ava';
import { applyRestore, parseIptablesSave, ruleTarget, type Ruleset } from '../../src/proxy/iptables-save.js';
import { renderJumpRules, renderSync, type SyncState } from '../../src/proxy/render.js';
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
