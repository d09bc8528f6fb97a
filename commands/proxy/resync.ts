import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { AgentClient } from '../../src/client.js';
import type { NodeSyncRecord } from '../../src/agent/kube-proxy/index.js';

export default class ProxyResync extends KnetlabCommand {
  static override summary = "Make kube-proxy rewrite every node's rules now (a full sync)";
  static override description =
    "kube-proxy repairs rules that someone changed by hand at its next full sync (once an hour, as upstream) or within 5 s when its rules are gone (the canary chain in iptables mode, the table in nftables mode). This runs the full sync now, as restarting kube-proxy (on k3s: the k3s service) would.";
  static override examples = ['<%= config.bin %> proxy resync'];
  static override flags = { lab: labFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(ProxyResync);
    const { lastSync } = await new AgentClient(this.lab(flags.lab)).post<{ lastSync: NodeSyncRecord[] }>('/apis/knetlab.io/v1/proxy/resync', {});
    for (const s of lastSync) this.log(`${s.node}: ${s.error ? `sync failed: ${s.error}` : `full sync, ${s.lines} lines in ${s.ms} ms`}`);
  }
}
