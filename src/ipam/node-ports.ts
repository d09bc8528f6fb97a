// NodePorts, allocated from service-node-port-range as kube-apiserver allocates them. Since
// Kubernetes 1.27 (ServiceNodePortStaticSubrange, GA in 1.29) the range has a lower static band of
// min(max(16, size/32), 128) ports (none when the range has 16 ports or fewer) that dynamic
// allocation uses only when the upper band is full, so a `nodePort:` chosen by hand from the lower
// band rarely collides with one handed out automatically: 30000-30085 in the default 30000-32767.
// The apiserver picks at random; the lab starts from a hash of the owner, so the same manifests
// give the same nodePorts in every student's lab. Errors use the apiserver's own words.
import { KnetlabError } from '../errors.js';

export interface PortRange {
  min: number;
  max: number;
}

export interface NodePortState {
  /** Port -> owner, e.g. "default/web:http/TCP". JSON keys are strings. */
  allocated: Record<string, string>;
}

export class NodePortAllocator {
  private readonly allocated = new Map<number, string>();
  /** Ports below this are the static band. */
  private readonly dynamicFrom: number;

  /** Saved ports outside `range` (it may have changed since) are dropped, not refused. */
  constructor(
    private readonly range: PortRange,
    saved?: NodePortState,
  ) {
    const { min, max } = range;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new KnetlabError(`service-node-port-range ${min}-${max} is not a range of ports`, { hint: 'write it as MIN-MAX within 1-65535, e.g. 30000-32767' });
    }
    this.dynamicFrom = min + staticBandSize(max - min + 1);
    for (const [key, owner] of Object.entries(saved?.allocated ?? {})) {
      const port = Number(key);
      if (Number.isInteger(port) && this.inRange(port)) this.allocated.set(port, owner);
    }
  }

  /** The range as the apiserver writes it: "30000-32767". */
  get rangeText(): string {
    return `${this.range.min}-${this.range.max}`;
  }

  /** The ports kept for `nodePort:` written by hand, which dynamic allocation takes last. */
  get staticBand(): PortRange | undefined {
    return this.dynamicFrom > this.range.min ? { min: this.range.min, max: this.dynamicFrom - 1 } : undefined;
  }

  /** A free port for `owner` (one Service port), or the one it already has. */
  allocate(owner: string): number {
    for (const [port, holder] of this.allocated) if (holder === owner) return port;
    const seed = hash(owner);
    const port = this.firstFree(this.dynamicFrom, this.range.max, seed) ?? this.firstFree(this.range.min, this.dynamicFrom - 1, seed);
    if (port === undefined) {
      throw new KnetlabError(`no nodePort left for ${owner}: range is full (${this.rangeText})`, { hint: 'delete some NodePort Services, or widen service-node-port-range' });
    }
    this.allocated.set(port, owner);
    return port;
  }

  /** Takes a given port: a Service's own `nodePort:`, or one it had before. */
  allocateSpecific(port: number, owner: string): number {
    if (!Number.isInteger(port) || !this.inRange(port)) {
      throw new KnetlabError(`nodePort ${port} for ${owner}: provided port is not in the valid range. The range of valid ports is ${this.rangeText}`, {
        hint: `choose a port in ${this.rangeText}, or leave nodePort out to get a free one`,
      });
    }
    const holder = this.allocated.get(port);
    if (holder !== undefined && holder !== owner) {
      throw new KnetlabError(`nodePort ${port} for ${owner}: provided port is already allocated (to ${holder})`, { hint: 'choose another nodePort, or leave nodePort out to get a free one' });
    }
    this.allocated.set(port, owner);
    return port;
  }

  release(port: number): void {
    this.allocated.delete(port);
  }

  /** A JSON-serialisable copy, ports in order; the constructor accepts it back. */
  get state(): NodePortState {
    const ports = [...this.allocated.keys()].sort((a, b) => a - b);
    return { allocated: Object.fromEntries(ports.map((port) => [String(port), this.allocated.get(port)!])) };
  }

  private inRange(port: number): boolean {
    return port >= this.range.min && port <= this.range.max;
  }

  /** Scans ports from..to (inclusive) starting at a seeded point, wrapping around. */
  private firstFree(from: number, to: number, seed: number): number | undefined {
    const span = to - from + 1;
    for (let step = 0; step < span; step++) {
      const port = from + ((seed + step) % span);
      if (!this.allocated.has(port)) return port;
    }
    return undefined;
  }
}

/** kube-apiserver's calculateRangeOffset for port ranges: min(max(16, size/32), 128), 0 for 16 ports or fewer. */
export function staticBandSize(rangeSize: number): number {
  if (rangeSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(rangeSize / 32)), 128);
}

/** FNV-1a: a stable, well-spread number from the owner's name. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}
