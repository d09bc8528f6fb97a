// The public face of kube-proxy's nftables mode, for the agent and `knetlab proxy render`:
// everything that turns a ProxySnapshot into `nft -f` text for `table ip kube-proxy`, without
// touching the kernel. The work is done in sync.ts (one sync, full or partial), layout.ts (how it
// is split into transactions), service-port.ts (one Service port's chains and elements),
// setup.ts (the fixed chains, sets and maps), names.ts (upstream's object names) and switch.ts
// (removing one mode's rules when switching to the other). Mirrors pkg/proxy/nftables/proxier.go.
import { existsSync } from 'node:fs';
import type { NodeContext, ProxySnapshot } from '../types.js';
import { renderNftSync, type NftSyncOptions } from './sync.js';

export { renderNftSync, DEFAULT_CHUNK_LINES, type NftSyncOptions, type NftSyncResult, type NftSyncState, type NftSyncStats, type NftPortRecord } from './sync.js';
export { NftPortMemo } from './memo.js';
export { renderNftCleanup, renderIptablesCleanup, iptablesTablesLeftEmpty } from './switch.js';
export { hashAndTruncate, servicePortChainNameBase, servicePortEndpointChainNameBase, portChainNames, endpointNames, isServiceChainName, isAffinitySetName, namesFromListing } from './names.js';
export { TABLE as NFT_TABLE, MASQUERADE_MARK as NFT_MASQUERADE_MARK, BASE_CHAINS as NFT_BASE_CHAINS } from './setup.js';

/**
 * The text of a full sync, all transactions in the order they must be applied, as one string
 * (for reading: `nft -f` applies a file as one transaction, so apply `transactions` one by one).
 */
export function renderNftFullSync(snapshot: ProxySnapshot, node: NodeContext, options: NftSyncOptions = {}): string {
  return renderNftSync(snapshot, node, undefined, options).transactions.join('');
}

/**
 * The nft program, by absolute path: under npm and npx, PATH starts with node_modules/.bin, where
 * @vercel/nft (a dependency of oclif) installs an unrelated `nft` that exits 0 doing nothing.
 */
export function nftBinary(): string {
  return ['/usr/sbin/nft', '/sbin/nft', '/usr/local/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft';
}
