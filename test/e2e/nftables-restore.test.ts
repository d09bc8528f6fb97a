// The nftables renderer's text against the real thing, in scratch network namespaces: nft checks
// (`nft -c -f`) every golden text; applied, `nft list table ip kube-proxy` shows every chain with
// exactly the rules the text (replayed through the model) says, and the listing round-trips
// through `nft -f`. Full syncs (chunked too) and partial syncs applied one after another leave
// the kernel with the very table a fresh full sync gives. Switching modes leaves nothing of the
// other. Needs root.
import type { ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/kernel/exec.js';
import { namesFromListing, nftBinary, renderIptablesCleanup, renderNftCleanup, renderNftSync, type NftSyncOptions, type NftSyncResult } from '../../src/proxy/nftables/index.js';
import { applyNft, emptyNftTable, type NftTableModel } from '../../src/proxy/nftables/model.js';
import { renderJumpRules, renderSync } from '../../src/proxy/render.js';
import type { NodeContext } from '../../src/proxy/types.js';
import { e2e, scratchNamespace } from '../helpers/lab.js';
import { service, snapshot } from '../helpers/proxy-snapshots.js';

const GOLDEN = fileURLToPath(new URL('../fixtures/nftables/', import.meta.url));
const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' };
const OPTIONS: NftSyncOptions = { serviceCIDRs: ['10.43.0.0/16'] };

const nft = (ns: string, args: string[], input?: string) => run(['ip', 'netns', 'exec', ns, nftBinary(), ...args], input === undefined ? {} : { input });
const listTable = async (ns: string): Promise<string> => (await nft(ns, ['list', 'table', 'ip', 'kube-proxy'])).stdout;

async function applySync(ns: string, sync: NftSyncResult, model?: NftTableModel): Promise<void> {
  for (const text of sync.transactions) {
    if (model) applyNft(model, text);
    await nft(ns, ['-f', '-'], text);
  }
}

interface Listed {
  /** Chain name -> rule lines (the `type ... hook` line left out). */
  chains: Map<string, string[]>;
  /** Set or map name -> its elements, sorted. */
  containers: Map<string, string[]>;
}

/** `nft list table` output by object, in an order that does not depend on creation order. */
function parseListing(text: string): Listed {
  const out: Listed = { chains: new Map(), containers: new Map() };
  for (const block of text.split(/\n(?=\t(?:chain|set|map) )/)) {
    const head = /^\t(chain|set|map) (\S+) \{/.exec(block);
    if (!head) continue;
    const body = block.split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== '' && l !== '}');
    if (head[1] === 'chain') {
      out.chains.set(head[2]!, body.filter((l) => !l.startsWith('type ') && !l.startsWith('comment ')));
    } else {
      const elements = /elements = \{([^}]*(?:\}[^}]*)*?)\}\s*$/m.exec(body.join(' '))?.[1] ?? '';
      out.containers.set(head[2]!, elements.split(',').map((e) => e.trim()).filter(Boolean).sort());
    }
  }
  return out;
}

function canonical(listed: Listed): string {
  const chains = [...listed.chains].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, rules]) => `chain ${name}\n${rules.join('\n')}`);
  const containers = [...listed.containers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, elements]) => `set ${name}: ${elements.join(', ')}`);
  return [...chains, ...containers].join('\n');
}

/** Every chain of the model is in the kernel with as many rules; every set with as many elements. */
function sameShape(t: ExecutionContext, model: NftTableModel, listed: Listed): void {
  t.deepEqual([...listed.chains.keys()].sort(), [...model.chains.keys()].sort(), 'the same chains');
  for (const [name, chain] of model.chains) t.is(listed.chains.get(name)?.length, chain.rules.length, `rules of ${name}`);
  t.deepEqual([...listed.containers.keys()].sort(), [...model.containers.keys()].sort(), 'the same sets and maps');
  for (const [name, c] of model.containers) if (!name.startsWith('affinity-')) t.is(listed.containers.get(name)?.length, c.elements.size, `elements of ${name}`);
}

// upstream-overall.nft is upstream's expected text, in the order upstream's test lists it (a rule
// before the chain it jumps to), compared after sorting: a reference, not a transaction.
const goldens = readdirSync(GOLDEN).filter((f) => f.endsWith('.nft') && f !== 'upstream-overall.nft');

e2e('nft -c accepts every golden text, and applied it lists every rule and round-trips through nft -f', async (t) => {
  t.true(goldens.length >= 11);
  for (const file of goldens) {
    const text = readFileSync(`${GOLDEN}${file}`, 'utf8');
    const ns = await scratchNamespace(t, 'nft');
    await nft(ns, ['-c', '-f', '-'], text);
    await nft(ns, ['-f', '-'], text);
    const listing = await listTable(ns);
    sameShape(t, applyNft(emptyNftTable(), text), parseListing(listing));
    // What nft lists, nft reads back: the same table again.
    await nft(ns, ['-f', '-'], renderNftCleanup());
    await nft(ns, ['-f', '-'], listing);
    t.is(await listTable(ns), listing, `${file} round-trips`);
  }
});

e2e('a chunked full sync, then partial syncs, leave the kernel with the table a fresh full sync gives', async (t) => {
  const ns = await scratchNamespace(t, 'nft');
  const model = emptyNftTable();
  const first = snapshot(60);
  const full = renderNftSync(first, NODE, undefined, { ...OPTIONS, chunkLines: 300 });
  t.true(full.transactions.length > 3);
  await applySync(ns, full, model);
  sameShape(t, model, parseListing(await listTable(ns)));
  // What an agent that lost its state reads back for existingChains / existingSets.
  t.deepEqual(namesFromListing((await nft(ns, ['list', 'chains', 'ip'])).stdout, 'chain').sort(), [...model.chains.keys()].sort());
  const sets = [...model.containers].filter(([, c]) => c.kind === 'set').map(([name]) => name);
  t.deepEqual(namesFromListing((await nft(ns, ['list', 'sets', 'ip'])).stdout, 'set').sort(), sets.sort(), '`list sets` lists sets (affinity sets among them), not maps');

  // One endpoint moves, one Service goes, one comes, one loses its endpoints, affinity times change.
  const next = snapshot(60);
  next.services[4]!.endpoints[2]!.ip = '10.42.7.7';
  next.services.splice(9, 1);
  next.services.push(service(200, { nodePort: 30200 }));
  next.services[20]!.endpoints = [];
  next.services.find((s) => s.service.sessionAffinity === 'ClientIP')!.service.affinityTimeoutSeconds = 900;
  const partial = renderNftSync(next, NODE, full.state, OPTIONS);
  t.true(partial.stats.partial);
  await applySync(ns, partial, model);
  const freshNs = await scratchNamespace(t, 'nft');
  await applySync(freshNs, renderNftSync(next, NODE, undefined, OPTIONS));
  t.is(canonical(parseListing(await listTable(ns))), canonical(parseListing(await listTable(freshNs))));
  sameShape(t, model, parseListing(await listTable(ns)));

  // And back: the first snapshot again, as a partial sync on top.
  await applySync(ns, renderNftSync(first, NODE, partial.state, OPTIONS));
  const again = await scratchNamespace(t, 'nft');
  await applySync(again, full);
  t.is(canonical(parseListing(await listTable(ns))), canonical(parseListing(await listTable(again))));
});

e2e('switching modes: iptables cleanup leaves no KUBE-* chain or jump; nftables cleanup leaves no table', async (t) => {
  const ns = await scratchNamespace(t, 'nft');
  const ipt = (args: string[], input?: string) => run(['ip', 'netns', 'exec', ns, ...args], input === undefined ? {} : { input });
  await ipt(['iptables-restore', '-w', '--noflush'], renderJumpRules());
  for (const text of renderSync(snapshot(10), NODE).transactions) await ipt(['iptables-restore', '-w', '--noflush', '--counters'], text);
  await ipt(['iptables', '-w', '-A', 'INPUT', '-s', '10.9.9.9/32', '-j', 'ACCEPT']);
  const before = (await ipt(['iptables-save'])).stdout;
  t.regex(before, /KUBE-SVC-/);
  await ipt(['iptables-restore', '-w', '--noflush'], renderIptablesCleanup(before));
  const after = (await ipt(['iptables-save'])).stdout;
  t.notRegex(after, /KUBE-/);
  t.regex(after, /-A INPUT -s 10\.9\.9\.9\/32 -j ACCEPT/, "other software's rules stay");
  t.is(renderIptablesCleanup(after), '');

  await applySync(ns, renderNftSync(snapshot(10), NODE, undefined, OPTIONS));
  await nft(ns, ['-f', '-'], renderNftCleanup());
  t.notRegex((await nft(ns, ['list', 'tables'])).stdout, /kube-proxy/);
  await nft(ns, ['-f', '-'], renderNftCleanup());
});
