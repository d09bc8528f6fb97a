// kube-proxy's nftables object names. Students compare `nft list table ip kube-proxy` in the lab
// with a real node, so the names must be byte-for-byte upstream's: the same Service port gives
// `service-ULMVA6XW-ns1/svc1/tcp/p80` on both. Mirrors hashAndTruncate,
// servicePortChainNameBase, servicePortEndpointChainNameBase, isServiceChainName and
// isAffinitySetName in pkg/proxy/nftables/proxier.go.
import { hash } from 'node:crypto';
import type { Protocol } from '../types.js';
import { base32 } from '../hash.js';

/** Upstream's chain name prefixes (servicePortPolicyClusterChainNamePrefix & co.). */
export const PREFIX = {
  service: 'service-',
  local: 'local-',
  external: 'external-',
  endpoint: 'endpoint-',
  affinity: 'affinity-',
  firewall: 'firewall-',
} as const;

/** knftables.NameLengthMax (256) less chainNamePrefixLengthMax (16). */
const CHAIN_NAME_BASE_LENGTH_MAX = 240;

/** The parts of a Service port that name its chains. */
export interface PortNameParts {
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
}

/**
 * `HASH8-name`: the first 8 characters of base32(sha256(name)), a dash, the name; cut to 240
 * characters with a trailing `...` when longer (never for a Service port, possibly for a long
 * IPv6 endpoint).
 */
export function hashAndTruncate(name: string): string {
  let out = known.get(name);
  if (out === undefined) {
    if (known.size >= 400_000) known.clear();
    // 5 bytes are exactly the 8 base32 characters that start the whole digest's encoding.
    out = `${base32(hash('sha256', name, 'buffer').subarray(0, 5))}-${name}`;
    if (out.length > CHAIN_NAME_BASE_LENGTH_MAX) out = `${out.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`;
    known.set(name, out);
  }
  return out;
}

/** Names are asked for again on every render; sha256 is the cost, so they are remembered. */
const known = new Map<string, string>();

/** `HASH-namespace/name/protocol/portName`, e.g. `ULMVA6XW-ns1/svc1/tcp/p80`. */
export function servicePortChainNameBase(port: PortNameParts): string {
  return hashAndTruncate(`${port.namespace}/${port.name}/${port.protocol.toLowerCase()}/${port.portName}`);
}

/**
 * `HASH-namespace/name/protocol/portName__ip/port`, e.g. `5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80`.
 * An IPv6 address has its colons replaced by dots (a colon is not allowed in a chain name).
 */
export function servicePortEndpointChainNameBase(port: PortNameParts, ip: string, endpointPort: number): string {
  const safeIP = ip.includes(':') ? ip.replaceAll(':', '.') : ip;
  return hashAndTruncate(`${port.namespace}/${port.name}/${port.protocol.toLowerCase()}/${port.portName}__${safeIP}/${endpointPort}`);
}

/** The chains of one Service port, as newServiceInfo computes them upstream. */
export interface PortChainNames {
  service: string;
  local: string;
  external: string;
  firewall: string;
}

export function portChainNames(port: PortNameParts): PortChainNames {
  const base = servicePortChainNameBase(port);
  return { service: PREFIX.service + base, local: PREFIX.local + base, external: PREFIX.external + base, firewall: PREFIX.firewall + base };
}

/** An endpoint's chain and affinity set, as newEndpointInfo computes them upstream. */
export function endpointNames(port: PortNameParts, ip: string, endpointPort: number): { chain: string; affinitySet: string } {
  const base = servicePortEndpointChainNameBase(port, ip, endpointPort);
  return { chain: PREFIX.endpoint + base, affinitySet: PREFIX.affinity + base };
}

/** Per-service chains always contain a `/`; kube-proxy's fixed chains never do. */
export function isServiceChainName(chain: string): boolean {
  return chain.includes('/');
}

export function isAffinitySetName(set: string): boolean {
  return set.startsWith(PREFIX.affinity);
}

/**
 * The names of the chains, or sets and maps, in `nft list chains ip` / `nft list sets ip` output
 * (or a whole `nft list table`), for renderNftSync's existingChains and existingSets after the
 * agent lost its state. Only `table ip kube-proxy`'s are returned.
 */
export function namesFromListing(listing: string, kind: 'chain' | 'set'): string[] {
  const names: string[] = [];
  let inTable = false;
  for (const line of listing.split('\n')) {
    const table = /^table (\S+) (\S+) \{/.exec(line);
    if (table) inTable = table[1] === 'ip' && table[2] === 'kube-proxy';
    const object = /^\t(chain|set|map) (\S+) \{/.exec(line);
    if (inTable && object && (object[1] === kind || (kind === 'set' && object[1] === 'map'))) names.push(object[2]!);
  }
  return names;
}
