// kube-proxy's chain names. They must be byte-for-byte upstream's, because students compare what
// `iptables-save` shows in the lab with a real node: the same Service port gives the same
// KUBE-SVC-XXXXXXXXXXXXXXXX on both. Mirrors portProtoHash, servicePortPolicyClusterChain & co.
// and servicePortEndpointChainName in pkg/proxy/iptables/proxier.go.
import { hash } from 'node:crypto';
import type { Protocol, ServicePortInfo } from './types.js';

export type ServiceChainPrefix = 'KUBE-SVC-' | 'KUBE-EXT-' | 'KUBE-SVL-' | 'KUBE-FW-';
export const ENDPOINT_CHAIN_PREFIX = 'KUBE-SEP-';

/** Every per-service chain kube-proxy owns starts with one of these (isServiceChainName upstream). */
export const SERVICE_CHAIN_PREFIXES: readonly string[] = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', ENDPOINT_CHAIN_PREFIX];

export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((prefix) => chain.startsWith(prefix));
}

/** A KUBE-SEP chain (one endpoint of one Service port). */
export function isEndpointChainName(chain: string): boolean {
  return chain.startsWith(ENDPOINT_CHAIN_PREFIX);
}

/**
 * ServicePortName.String() upstream: `namespace/name:portName`, the `:portName` dropped when the
 * port is unnamed (a single-port Service may leave it out).
 */
export function servicePortName(port: Pick<ServicePortInfo, 'namespace' | 'name' | 'portName'>): string {
  return `${port.namespace}/${port.name}${port.portName ? `:${port.portName}` : ''}`;
}

/** KUBE-SVC-/EXT-/SVL-/FW- + 16 characters of base32(sha256(servicePortName + protocol)). */
export function servicePortChainName(prefix: ServiceChainPrefix, portName: string, protocol: Protocol | string): string {
  return prefix + hash16(portName + protocol.toLowerCase());
}

/** KUBE-SEP- + 16 characters of base32(sha256(servicePortName + protocol + "ip:port")). */
export function endpointChainName(portName: string, protocol: Protocol | string, endpoint: string): string {
  return ENDPOINT_CHAIN_PREFIX + hash16(portName + protocol.toLowerCase() + endpoint);
}

/**
 * Every sync names every chain again, and sha256 is most of a render's time at thousands of
 * Services, so names are remembered (bounded: the cache is dropped when it grows past 200,000).
 */
const known = new Map<string, string>();

function hash16(text: string): string {
  let name = known.get(text);
  if (name === undefined) {
    if (known.size >= 200_000) known.clear();
    // 10 bytes are exactly 16 base32 characters, the prefix of the whole digest's encoding.
    name = base32(hash('sha256', text, 'buffer').subarray(0, 10));
    known.set(text, name);
  }
  return name;
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding), without padding: whole 5-byte groups only here. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
