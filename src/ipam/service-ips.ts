// ClusterIPs, allocated as kube-apiserver allocates them: anywhere in the service CIDR but its
// network and broadcast addresses, with the first address for default/kubernetes and the cluster
// DNS address for kube-system/kube-dns. Like the apiserver, dynamic allocations prefer the upper
// part of the range, leaving the lower band (16 to 256 addresses) for ClusterIPs chosen by hand.
// The apiserver picks at random; the lab picks from a hash of the owner, so the same manifests give
// the same ClusterIPs in every student's lab.
import { KnetlabError } from '../errors.js';
import { contains, formatCidr, ipToInt, isIPv4, nth, offsetOf, type Cidr } from './cidr.js';
import { requireCidr } from './subnets.js';

export interface ServiceIPState {
  /** IP -> owner, e.g. "default/web". */
  allocated: Record<string, string>;
}

export const KUBERNETES_SERVICE = 'default/kubernetes';
export const DNS_SERVICE = 'kube-system/kube-dns';

export class ServiceIPAllocator {
  private readonly cidr: Cidr;
  private readonly allocated = new Map<string, string>();
  /** Offsets that can be allocated: 1 .. size-2. */
  private readonly first = 1;
  private readonly last: number;
  /** Offsets below this are the static band, used for dynamic allocation only when the rest is full. */
  private readonly staticBandEnd: number;

  constructor(serviceCIDR: string, clusterDNS: string, saved?: ServiceIPState) {
    this.cidr = requireCidr(serviceCIDR, 'service CIDR');
    if (this.cidr.size < 4) throw new KnetlabError(`service CIDR ${serviceCIDR} is too small`, { hint: 'use a service-cidr of /29 or larger' });
    this.last = this.cidr.size - 2;
    this.staticBandEnd = Math.min(this.first + staticBandSize(this.cidr.size), this.last + 1);
    for (const [ip, owner] of Object.entries(saved?.allocated ?? {})) this.allocateSpecific(ip, owner);
    this.allocateSpecific(nth(this.cidr, this.first), KUBERNETES_SERVICE);
    this.allocateSpecific(clusterDNS, DNS_SERVICE);
  }

  /** A free ClusterIP for `owner`, or the one it already has. */
  allocate(owner: string): string {
    for (const [ip, holder] of this.allocated) if (holder === owner) return ip;
    const seed = hash(owner);
    const ip = this.firstFree(this.staticBandEnd, this.last, seed) ?? this.firstFree(this.first, this.staticBandEnd - 1, seed);
    if (!ip) throw new KnetlabError(`service CIDR ${formatCidr(this.cidr)} is full`, { hint: 'delete some Services, or use a larger service-cidr' });
    this.allocated.set(ip, owner);
    return ip;
  }

  /** Takes a given address: a Service's own `clusterIP:`, or a saved one. */
  allocateSpecific(ip: string, owner: string): string {
    const where = formatCidr(this.cidr);
    if (!isIPv4(ip) || !contains(this.cidr, ip)) {
      throw new KnetlabError(`ClusterIP ${ip} for ${owner} is not in the service CIDR ${where}`, { hint: `choose an address inside ${where}, or leave clusterIP out` });
    }
    const offset = offsetOf(this.cidr, ip);
    if (offset < this.first || offset > this.last) throw new KnetlabError(`ClusterIP ${ip} for ${owner} is the network or broadcast address of ${where}`);
    const holder = this.allocated.get(ip);
    if (holder && holder !== owner) {
      throw new KnetlabError(`ClusterIP ${ip} for ${owner} is already allocated to ${holder}`, { hint: 'choose another address, or leave clusterIP out' });
    }
    this.allocated.set(ip, owner);
    return ip;
  }

  release(ip: string): void {
    this.allocated.delete(ip);
  }

  /** A JSON-serialisable copy, addresses in order; the constructor accepts it back. */
  get state(): ServiceIPState {
    const ips = [...this.allocated.keys()].sort((a, b) => ipToInt(a) - ipToInt(b));
    return { allocated: Object.fromEntries(ips.map((ip) => [ip, this.allocated.get(ip)!])) };
  }

  /** Scans offsets from..to (inclusive) starting at a seeded point, wrapping around. */
  private firstFree(from: number, to: number, seed: number): string | undefined {
    const span = to - from + 1;
    if (span <= 0) return undefined;
    for (let step = 0; step < span; step++) {
      const ip = nth(this.cidr, from + ((seed + step) % span));
      if (!this.allocated.has(ip)) return ip;
    }
    return undefined;
  }
}

/** kube-apiserver's static band: min(max(16, size/16), 256) addresses, none for CIDRs under 16. */
function staticBandSize(cidrSize: number): number {
  if (cidrSize < 16) return 0;
  return Math.min(Math.max(16, Math.floor(cidrSize / 16)), 256);
}

/** FNV-1a: a stable, well-spread number from the owner's name. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}
