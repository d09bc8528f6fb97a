// The public face of kube-proxy's renderer, for the agent and `knetlab proxy render`: everything
// that turns a ProxySnapshot into iptables-restore text, without touching the kernel. The work
// is done in sync.ts (one sync, full or partial), transactions.ts (its chunks), render-cache.ts
// (Service ports rendered before), service-rules.ts (one Service port's rules), chains.ts (the
// fixed chains and the jumps into them) and hash.ts (chain names).
import { renderSync, type RenderOptions } from './sync.js';
import type { NodeContext, ProxySnapshot } from './types.js';

export { renderSync, RenderCache, DEFAULT_CHUNK_SERVICES, LARGE_CLUSTER_ENDPOINTS, type RenderOptions, type SyncResult, type SyncState, type SyncStats } from './sync.js';
export { renderJumpRules, CANARY_CHAIN, CANARY_TABLES, MASQUERADE_MARK } from './chains.js';
export { servicePortChainName, endpointChainName, servicePortName } from './hash.js';

/**
 * The restore text of a full sync, all transactions in the order they must be applied, as one
 * string: what `proxy render` prints. It can be piped into one `iptables-restore --noflush
 * --counters`, which commits each `*table` ... `COMMIT` section in turn.
 */
export function renderFullSync(snapshot: ProxySnapshot, node: NodeContext, options: RenderOptions = {}): string {
  return renderSync(snapshot, node, undefined, options).transactions.join('');
}
