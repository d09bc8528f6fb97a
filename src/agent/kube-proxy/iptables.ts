// kube-proxy's iptables mode on one node: the rules rendered by src/proxy/sync.ts and written with
// `iptables-restore --noflush --counters`, after jumps from the built-in chains installed once (as
// EnsureRule does) and a canary chain that tells when someone flushed the tables.
import type { NodePlan } from '../../dataplane/plan.js';
import { run } from '../../kernel/exec.js';
import { CANARY_CHAIN, renderJumpRules } from '../../proxy/chains.js';
import { parseIptablesSave, tokenize } from '../../proxy/iptables-save.js';
import { nftBinary, renderNftCleanup } from '../../proxy/nftables/index.js';
import { canonicalRule } from '../../proxy/rule-spec.js';
import { renderSync, type SyncState } from '../../proxy/sync.js';
import type { ProxySnapshot } from '../../proxy/types.js';
import type { ModeWriter, WriteContext, Written } from './writer.js';

export class IptablesWriter implements ModeWriter<SyncState> {
  readonly mode = 'iptables';
  readonly tool = 'iptables-restore';
  /** Nodes prepared and not written since: their first sync may order chains for a node without rules. */
  private readonly unwritten = new Set<string>();

  async prepare(node: NodePlan): Promise<void> {
    await run(['ip', 'netns', 'exec', node.netns, nftBinary(), '-f', '-'], { input: renderNftCleanup() });
    await ensureJumps(node);
    this.unwritten.add(node.netns);
  }

  async write(node: NodePlan, ctx: WriteContext, snapshot: ProxySnapshot, previous: SyncState | undefined): Promise<Written<SyncState>> {
    // Unlike upstream, a partial sync rewrites KUBE-SERVICES and the other top-level chains only
    // when they changed: at thousands of Services that is the difference between ~300 ms and a
    // few tens. A hand edit there waits for the periodic full sync (iptables-sync-period).
    // freshNode is only an ordering hint for a node without rules: it cannot make them wrong.
    const freshNode = this.unwritten.delete(node.netns) && previous === undefined;
    const out = renderSync(snapshot, { nodeName: node.name, nodeIPs: [node.ip], clusterCIDR: ctx.clusterCIDR }, previous, { topLevelChains: 'when-changed', freshNode });
    // The leading chunks of a large full sync are independent: two restores run at a time (one
    // per core), each taking the next chunk when it is done; then the rest in order.
    const chunks = out.transactions.slice(0, out.chunks);
    const worker = async () => {
      for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) await restore(node, chunk);
    };
    await Promise.all([worker(), worker()]);
    for (const transaction of out.transactions.slice(out.chunks)) await restore(node, transaction);
    return { state: out.state, lines: countLines(out.transactions), transactions: out.transactions.length };
  }

  async intact(node: NodePlan): Promise<boolean> {
    const r = await run(['ip', 'netns', 'exec', node.netns, 'iptables', '-w', '-t', 'nat', '-S', CANARY_CHAIN], { allowFailure: true }).catch(() => undefined);
    return !r || r.exitCode === 0;
  }
}

/**
 * kube-proxy's EnsureRule for the jumps from PREROUTING, OUTPUT, POSTROUTING, INPUT and FORWARD:
 * insert the ones the node lacks. Declaring kube-proxy's own chains flushes them; the full sync
 * that always follows writes them again.
 */
async function ensureJumps(node: NodePlan): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'exec', node.netns, 'iptables-save']);
  const present = new Set<string>();
  for (const [table, chains] of parseIptablesSave(stdout)) {
    for (const chain of chains.values()) for (const r of chain.rules) present.add(`${table} ${chain.name} ${canonicalRule(r.args)}`);
  }
  let table = '';
  const missing = renderJumpRules()
    .split('\n')
    .filter((line) => {
      if (line.startsWith('*')) table = line.slice(1);
      const rule = /^-[IA] (\S+) (.*)$/.exec(line);
      return !rule || !present.has(`${table} ${rule[1]} ${canonicalRule(tokenize(rule[2]!))}`);
    });
  await restore(node, missing.join('\n'));
}

function restore(node: NodePlan, text: string): Promise<unknown> {
  return run(['ip', 'netns', 'exec', node.netns, 'iptables-restore', '-w', '--noflush', '--counters'], { input: text });
}

export function countLines(texts: readonly string[]): number {
  let n = 0;
  for (const t of texts) n += t.split('\n').length;
  return n;
}
