// Pod IPs of one node, handed out the way the host-local CNI plugin under flannel does it on k3s:
// the gateway .1 belongs to cni0, and each new pod gets the next free address after the one handed
// out last, wrapping around at the end of the subnet. So a just-deleted pod's IP is not reused until
// the range comes round again, which is why a replaced pod visibly gets a new IP.
import { KnetlabError } from '../errors.js';
import { contains, formatCidr, ipToInt, isIPv4, nth, offsetOf, type Cidr } from './cidr.js';
import { requireCidr } from './subnets.js';

/** What survives an agent restart (host-local keeps the same in /var/lib/cni/networks/). */
export interface PodIPState {
  /** Offset in the pod CIDR of the address handed out last; 0 when none was yet. */
  lastOffset: number;
  /** IP -> owner, e.g. "default/web-1". */
  allocated: Record<string, string>;
}

const GATEWAY_OFFSET = 1;

export class PodIPAllocator {
  private readonly cidr: Cidr;
  private readonly allocated = new Map<string, string>();
  private lastOffset = 0;

  constructor(podCIDR: string, saved?: PodIPState) {
    this.cidr = requireCidr(podCIDR, 'pod CIDR');
    if (this.cidr.size < 4) throw new KnetlabError(`pod CIDR ${podCIDR} is too small for a gateway and a pod`, { hint: 'use a node CIDR mask of /30 or shorter' });
    if (saved) this.restore(saved);
  }

  /** The node's address on its cni0 bridge: every pod's default route. */
  get gateway(): string {
    return nth(this.cidr, GATEWAY_OFFSET);
  }

  /** The next free address after the last one handed out; the owner's own address if it has one. */
  allocate(owner: string): string {
    const existing = this.addressOf(owner);
    if (existing) return existing;
    const first = GATEWAY_OFFSET + 1;
    const last = this.cidr.size - 2; // the top address is the broadcast
    const span = last - first + 1;
    const start = this.lastOffset >= first && this.lastOffset <= last ? this.lastOffset + 1 : first;
    for (let step = 0; step < span; step++) {
      const offset = first + ((start - first + step) % span);
      const ip = nth(this.cidr, offset);
      if (this.allocated.has(ip)) continue;
      this.take(ip, offset, owner);
      return ip;
    }
    throw new KnetlabError(`pod CIDR ${formatCidr(this.cidr)} is full: all ${span} pod addresses are in use`, {
      hint: 'delete some pods, or give the nodes larger pod subnets (node-cidr-mask-size-ipv4)',
    });
  }

  /** Takes a given address, e.g. a saved pod's own IP when the lab is rebuilt. */
  allocateSpecific(ip: string, owner: string): string {
    const problem = this.unusable(ip);
    if (problem) throw new KnetlabError(`cannot give ${owner} the IP ${ip}: ${problem}`);
    const holder = this.allocated.get(ip);
    if (holder === owner) return ip;
    if (holder) throw new KnetlabError(`cannot give ${owner} the IP ${ip}: it is in use by ${holder}`);
    this.take(ip, offsetOf(this.cidr, ip), owner);
    return ip;
  }

  release(ip: string): void {
    this.allocated.delete(ip);
  }

  /** A JSON-serialisable copy, addresses in order; the constructor accepts it back. */
  get state(): PodIPState {
    const ips = [...this.allocated.keys()].sort((a, b) => ipToInt(a) - ipToInt(b));
    return { lastOffset: this.lastOffset, allocated: Object.fromEntries(ips.map((ip) => [ip, this.allocated.get(ip)!])) };
  }

  private take(ip: string, offset: number, owner: string): void {
    this.allocated.set(ip, owner);
    this.lastOffset = offset; // host-local records every reservation, requested ones included
  }

  private addressOf(owner: string): string | undefined {
    for (const [ip, holder] of this.allocated) if (holder === owner) return ip;
    return undefined;
  }

  /** Why an address cannot be a pod's, or undefined when it can. */
  private unusable(ip: string): string | undefined {
    const where = formatCidr(this.cidr);
    if (!isIPv4(ip) || !contains(this.cidr, ip)) return `it is not in the pod CIDR ${where}`;
    const offset = offsetOf(this.cidr, ip);
    if (offset === 0) return `it is the network address of ${where}`;
    if (offset === GATEWAY_OFFSET) return `it is the gateway of ${where} (cni0)`;
    if (offset === this.cidr.size - 1) return `it is the broadcast address of ${where}`;
    return undefined;
  }

  private restore(saved: PodIPState): void {
    const { lastOffset, allocated } = saved;
    if (!Number.isInteger(lastOffset) || lastOffset < 0 || lastOffset >= this.cidr.size) {
      throw new KnetlabError(`saved pod IP state does not fit ${formatCidr(this.cidr)}: last offset ${lastOffset}`);
    }
    for (const [ip, owner] of Object.entries(allocated ?? {})) {
      const problem = this.unusable(ip);
      if (problem) throw new KnetlabError(`saved pod IP ${ip} of ${owner} cannot be restored: ${problem}`);
      this.allocated.set(ip, owner);
    }
    this.lastOffset = lastOffset;
  }
}
