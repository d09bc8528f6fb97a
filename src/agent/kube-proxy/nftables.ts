// kube-proxy's nftables mode on one node: `table ip kube-proxy`, rendered by src/proxy/nftables
// and written with `nft -f -`, one process per transaction. It owns nothing outside its table, so
// it needs no jumps and no canary: the table itself tells whether the rules are still there.
import type { NodePlan } from '../../dataplane/plan.js';
import { run } from '../../kernel/exec.js';
import { NFT_TABLE, iptablesTablesLeftEmpty, namesFromListing, nftBinary, renderIptablesCleanup, renderNftSync, type NftSyncState } from '../../proxy/nftables/index.js';
import type { ProxySnapshot } from '../../proxy/types.js';
import { countLines } from './iptables.js';
import type { ModeWriter, WriteContext, Written } from './writer.js';

export class NftablesWriter implements ModeWriter<NftSyncState> {
  readonly mode = 'nftables';
  readonly tool = 'nft -f';

  /**
   * Removes iptables mode's jumps and KUBE-* chains, as kube-proxy's CleanupLeftovers does, and
   * then the iptables tables that held nothing else.
   */
  async prepare(node: NodePlan): Promise<void> {
    const { stdout } = await run(['ip', 'netns', 'exec', node.netns, 'iptables-save']);
    const cleanup = renderIptablesCleanup(stdout);
    if (!cleanup) return;
    await run(['ip', 'netns', 'exec', node.netns, 'iptables-restore', '-w', '--noflush'], { input: cleanup });
    const empty = iptablesTablesLeftEmpty(stdout);
    if (empty.length) await nft(node, ['-f', '-'], empty.map((table) => `delete table ${table}\n`).join(''));
  }

  async write(node: NodePlan, ctx: WriteContext, snapshot: ProxySnapshot, previous: NftSyncState | undefined): Promise<Written<NftSyncState>> {
    // Without a previous sync (a restarted agent, a repair) the table may hold Service chains
    // that no Service needs any more: the full sync deletes them if it is told their names.
    const listing = previous === undefined && (await this.intact(node)) ? await nft(node, ['list', 'table', ...NFT_TABLE.split(' ')]) : '';
    const out = renderNftSync(snapshot, { nodeName: node.name, nodeIPs: [node.ip], clusterCIDR: ctx.clusterCIDR }, previous, {
      serviceCIDRs: [ctx.serviceCIDR],
      existingChains: namesFromListing(listing, 'chain'),
      existingSets: namesFromListing(listing, 'set'),
    });
    for (const transaction of out.transactions) await nft(node, ['-f', '-'], transaction);
    return { state: out.state, lines: countLines(out.transactions), transactions: out.transactions.length };
  }

  async intact(node: NodePlan): Promise<boolean> {
    const tables = await nft(node, ['list', 'tables']).catch(() => undefined);
    return tables === undefined || tables.split('\n').includes(`table ${NFT_TABLE}`);
  }
}

async function nft(node: NodePlan, args: string[], input?: string): Promise<string> {
  const { stdout } = await run(['ip', 'netns', 'exec', node.netns, nftBinary(), ...args], input === undefined ? {} : { input });
  return stdout;
}
