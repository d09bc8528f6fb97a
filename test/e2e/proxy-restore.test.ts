// The renderer's text against the real thing: applied with iptables-restore --noflush --counters
// in a scratch network namespace, read back with iptables-save, and compared chain by chain with
// what the text says, after putting both spellings into one canonical form (iptables-save adds
// /32, reorders -p and -m, prints --or-mark as --set-xmark, ...). Needs root.
import { run } from '../../src/kernel/exec.js';
import { applyRestore, parseIptablesSave, type Ruleset } from '../../src/proxy/iptables-save.js';
import { renderJumpRules, renderSync, type SyncResult } from '../../src/proxy/render.js';
import { canonicalRule } from '../../src/proxy/rule-spec.js';
import type { NodeContext } from '../../src/proxy/types.js';
import { e2e, scratchNamespace } from '../helpers/lab.js';
import { snapshot } from '../helpers/proxy-snapshots.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' };
const TABLES = ['filter', 'nat', 'mangle'];

async function restore(ns: string, text: string): Promise<void> {
  await run(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush', '--counters'], { input: text });
}

async function kernelRules(ns: string): Promise<Ruleset> {
  return parseIptablesSave((await run(['ip', 'netns', 'exec', ns, 'iptables-save'])).stdout);
}

/** table/chain -> canonical rules, in order, for every chain of the tables kube-proxy writes. */
function canonical(rules: Ruleset): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) for (const [name, chain] of rules.get(table) ?? []) out[`${table}/${name}`] = chain.rules.map((r) => canonicalRule(r.args));
  return out;
}

async function applySync(ns: string, model: Ruleset, sync: SyncResult): Promise<void> {
  for (const text of sync.transactions) {
    applyRestore(model, text);
    await restore(ns, text);
  }
}

e2e('a full sync, then partial syncs, leave the kernel holding exactly the rules the text says', async (t) => {
  const ns = await scratchNamespace(t, 'proxy-small');
  const model = parseIptablesSave(renderJumpRules());
  await restore(ns, renderJumpRules());
  const full = renderSync(snapshot(20), NODE);
  await applySync(ns, model, full);
  const afterFull = canonical(await kernelRules(ns));
  t.deepEqual(afterFull, canonical(model), 'full sync: no rule lost, none added, same order');
  t.true(afterFull['nat/KUBE-SERVICES']!.length > 20);

  // One endpoint moves; one Service goes away.
  const next = snapshot(20);
  next.services[4]!.endpoints[2]!.ip = '10.42.7.7';
  const removed = next.services.splice(9, 1)[0]!;
  const partial = renderSync(next, NODE, full.state);
  t.true(partial.stats.partial);
  t.is(partial.transactions.length, 1);
  await applySync(ns, model, partial);
  const kernel = await kernelRules(ns);
  t.deepEqual(canonical(kernel), canonical(model), 'partial sync: no rule lost');
  const goneChains = Object.keys(full.state.chains).filter((c) => !(c in partial.state.chains));
  t.true(goneChains.length >= 4, `${removed.service.name}'s chains and the moved endpoint's chain are stale`);
  for (const chain of goneChains) t.false(kernel.get('nat')!.has(chain), `${chain} was deleted`);
  // And the node now looks as if it had only ever had a full sync of the new snapshot.
  const fresh = parseIptablesSave(renderJumpRules());
  for (const text of renderSync(next, NODE).transactions) applyRestore(fresh, text);
  t.deepEqual(canonical(kernel), canonical(fresh));
});

e2e('a chunked full sync of 1,200 Services applies in order on a fresh node and loses nothing', async (t) => {
  const ns = await scratchNamespace(t, 'proxy-chunked');
  const model = parseIptablesSave(renderJumpRules());
  await restore(ns, renderJumpRules());
  const full = renderSync(snapshot(1200), NODE, undefined, { chunkServices: 500 });
  t.is(full.transactions.length, 4);
  await applySync(ns, model, full);
  const kernel = await kernelRules(ns);
  t.deepEqual(canonical(kernel), canonical(model));
  t.is([...kernel.get('nat')!.keys()].filter((c) => c.startsWith('KUBE-SEP-')).length, 1205 * 3 - 3);
});

e2e("partial syncs with topLevelChains 'when-changed' leave the kernel as a full sync would", async (t) => {
  const ns = await scratchNamespace(t, 'proxy-fast');
  const model = parseIptablesSave(renderJumpRules());
  await restore(ns, renderJumpRules());
  const first = snapshot(10);
  const full = renderSync(first, NODE);
  await applySync(ns, model, full);
  const moved = snapshot(10);
  moved.services[3]!.endpoints[0]!.ip = '10.42.6.6';
  const fast = renderSync(moved, NODE, full.state, { topLevelChains: 'when-changed' });
  t.notRegex(fast.transactions.join(''), /KUBE-SERVICES/, 'KUBE-SERVICES is not rewritten');
  await applySync(ns, model, fast);
  const fresh = parseIptablesSave(renderJumpRules());
  for (const text of renderSync(moved, NODE).transactions) applyRestore(fresh, text);
  t.deepEqual(canonical(await kernelRules(ns)), canonical(fresh));
});

e2e('a chunked full resync of a node that has rules (state lost) applies chunk by chunk and leaves a fresh node\'s rules', async (t) => {
  const ns = await scratchNamespace(t, 'proxy-resync');
  const model = parseIptablesSave(renderJumpRules());
  await restore(ns, renderJumpRules());
  await applySync(ns, model, renderSync(snapshot(300), NODE, undefined, { chunkServices: 100 }));
  // A new snapshot: 40 Services gone, every endpoint on another port; the agent knows nothing of
  // the node but the chains iptables-save lists.
  const next = snapshot(260);
  for (const s of next.services) for (const ep of s.endpoints) ep.port = 9090;
  const existing = [...(await kernelRules(ns)).get('nat')!.keys()];
  const resync = renderSync(next, NODE, undefined, { chunkServices: 100, existingChains: existing });
  t.is(resync.transactions.length, 4);
  t.true(resync.stats.deletedChains >= 40 * 4);
  await applySync(ns, model, resync);
  const kernel = canonical(await kernelRules(ns));
  t.deepEqual(kernel, canonical(model));
  const fresh = parseIptablesSave(renderJumpRules());
  for (const text of renderSync(next, NODE).transactions) applyRestore(fresh, text);
  t.deepEqual(kernel, canonical(fresh));
});

e2e('with the freshNode hint, chunks applied two iptables-restore at a time leave the rules a one-transaction sync leaves', async (t) => {
  const ns = await scratchNamespace(t, 'proxy-parallel');
  await restore(ns, renderJumpRules());
  const full = renderSync(snapshot(600), NODE, undefined, { chunkServices: 100, freshNode: true });
  t.is(full.chunks, 7);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < full.chunks) await restore(ns, full.transactions[next++]!);
  };
  await Promise.all([worker(), worker()]);
  for (const text of full.transactions.slice(full.chunks)) await restore(ns, text);
  const single = parseIptablesSave(renderJumpRules());
  for (const text of renderSync(snapshot(600), NODE, undefined, { chunkServices: 10_000 }).transactions) applyRestore(single, text);
  t.deepEqual(canonical(await kernelRules(ns)), canonical(single));
});
