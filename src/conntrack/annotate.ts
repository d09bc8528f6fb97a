// What the kernel did to each connection, read from its conntrack entry: a DNAT when the reply
// comes from somewhere other than where the first packet was sent (kube-proxy picked a pod for
// a ClusterIP or NodePort), a SNAT/masquerade when the reply goes to somewhere other than the
// sender (KUBE-POSTROUTING's MASQUERADE, or flannel's). Addresses are named from the lab's
// objects: pods, Services (ClusterIP or NodePort), nodes (eth0, cni0, flannel.1), the lan
// machine. Also which entries are lab traffic and which belong to one Service. Pure.
import type { Pod, Service } from '../api/types.js';
import { contains, nth, parseCidr, type Cidr } from '../ipam/cidr.js';
import { displayName } from '../graph/model.js';
import type { ConntrackEntry } from './parse.js';

export interface ConntrackContext {
  clusterCIDR?: string | undefined;
  serviceCIDR?: string | undefined;
  lanCIDR?: string | undefined;
  lanIP?: string | undefined;
  nodes: { name: string; ip: string; podCIDR: string }[];
  pods: Pod[];
  services: Service[];
}

/** A translated address: the endpoint of a DNAT or the source a SNAT put on the packets. */
export interface NatTarget {
  ip: string;
  port?: number;
  /** "10.42.1.2:8080". */
  address: string;
  /** The pod's name (namespace/name outside default) when the address is a pod's. */
  pod?: string;
  /** What the address is: "pod web-1", "server's flannel.1", ... */
  who?: string;
}

export interface AnnotatedEntry extends ConntrackEntry {
  /** The Service the connection was addressed to, by ClusterIP or by NodePort on a node. */
  service?: { namespace: string; name: string; via: 'ClusterIP' | 'NodePort' };
  dnat?: NatTarget;
  snat?: NatTarget;
  /** Who each address of the entry is, where the lab knows it. */
  names: Record<string, string>;
}

export interface ServiceRef {
  namespace: string;
  name: string;
}

/** Names the lab's addresses and matches entries against its CIDRs and Services. */
export class LabAddresses {
  private readonly names = new Map<string, { who: string; pod?: string }>();
  private readonly cidrs: Cidr[];
  private readonly nodeIPs: Set<string>;

  constructor(private readonly ctx: ConntrackContext) {
    this.cidrs = [ctx.clusterCIDR, ctx.serviceCIDR, ctx.lanCIDR].flatMap((c) => (c && parseCidr(c) ? [parseCidr(c)!] : []));
    this.nodeIPs = new Set(ctx.nodes.map((n) => n.ip));
    if (ctx.lanIP) this.names.set(ctx.lanIP, { who: 'lan machine' });
    for (const n of ctx.nodes) {
      this.names.set(n.ip, { who: `node ${n.name}` });
      const cidr = parseCidr(n.podCIDR);
      if (cidr) {
        this.names.set(nth(cidr, 0), { who: `${n.name}'s flannel.1` });
        this.names.set(nth(cidr, 1), { who: `${n.name}'s cni0` });
      }
    }
    for (const s of ctx.services) {
      if (s.spec.clusterIP && s.spec.clusterIP !== 'None') this.names.set(s.spec.clusterIP, { who: `svc ${displayName(s.metadata.namespace ?? 'default', s.metadata.name)}` });
    }
    for (const p of ctx.pods) {
      const pod = displayName(p.metadata.namespace ?? 'default', p.metadata.name);
      if (p.status?.podIP) this.names.set(p.status.podIP, { who: `pod ${pod}`, pod });
    }
  }

  who(ip: string): string | undefined {
    return this.names.get(ip)?.who;
  }

  /** True when any address of the entry is in the cluster CIDR, the service CIDR or the LAN. */
  isLabTraffic(e: ConntrackEntry): boolean {
    return [e.original.src, e.original.dst, e.reply.src, e.reply.dst].some((ip) => this.cidrs.some((c) => isV4(ip) && contains(c, ip)));
  }

  /** The Service an entry was addressed to: its ClusterIP (any port), or a NodePort on a node IP. */
  serviceOf(e: ConntrackEntry): AnnotatedEntry['service'] {
    const dst = e.original.dst;
    const toNode = this.nodeIPs.has(dst) || dst.startsWith('127.');
    for (const s of this.ctx.services) {
      const ref = { namespace: s.metadata.namespace ?? 'default', name: s.metadata.name };
      if (s.spec.clusterIP && s.spec.clusterIP === dst) return { ...ref, via: 'ClusterIP' };
      const nodePort = (s.spec.ports ?? []).some((p) => p.nodePort !== undefined && p.nodePort === e.original.dport && (p.protocol ?? 'TCP').toLowerCase() === e.protocol);
      if (toNode && nodePort) return { ...ref, via: 'NodePort' };
    }
    return undefined;
  }

  target(ip: string, port: number | undefined): NatTarget {
    const known = this.names.get(ip);
    return {
      address: port === undefined ? ip : `${ip}:${port}`,
      ip,
      ...(port !== undefined ? { port } : {}),
      ...(known?.pod ? { pod: known.pod } : {}),
      ...(known ? { who: known.who } : {}),
    };
  }

  annotate(e: ConntrackEntry): AnnotatedEntry {
    const { original: o, reply: r } = e;
    const service = this.serviceOf(e);
    const a: AnnotatedEntry = {
      ...e,
      ...(service ? { service } : {}),
      ...(r.src !== o.dst || r.sport !== o.dport ? { dnat: this.target(r.src, r.sport) } : {}),
      ...(r.dst !== o.src || r.dport !== o.sport ? { snat: this.target(r.dst, r.dport) } : {}),
      names: {},
    };
    for (const ip of [o.src, o.dst, r.src, r.dst]) {
      const who = this.who(ip);
      if (who) a.names[ip] = who;
    }
    return a;
  }
}

function isV4(ip: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip);
}

function ipKey(ip: string): string {
  return isV4(ip) ? ip.split('.').map((o) => o.padStart(3, '0')).join('.') : ip;
}

/** Translated entries first, then by destination, source and ports: a stable, readable order. */
export function compareEntries(a: AnnotatedEntry, b: AnnotatedEntry): number {
  const key = (e: AnnotatedEntry) =>
    [e.dnat || e.snat ? 0 : 1, ipKey(e.original.dst), String(e.original.dport ?? 0).padStart(5, '0'), e.protocol, ipKey(e.original.src), String(e.original.sport ?? 0).padStart(5, '0')].join(' ');
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

export interface Selection {
  entries: AnnotatedEntry[];
  /** Entries left out: not lab traffic, or not the Service asked for. */
  hidden: number;
}

/** Lab traffic only (and with `service`, only that Service's), annotated and sorted. */
export function selectEntries(entries: ConntrackEntry[], ctx: ConntrackContext, service?: ServiceRef): Selection {
  const lab = new LabAddresses(ctx);
  const kept = entries
    .filter((e) => lab.isLabTraffic(e))
    .map((e) => lab.annotate(e))
    .filter((e) => !service || (e.service?.namespace === service.namespace && e.service.name === service.name));
  return { entries: kept.sort(compareEntries), hidden: entries.length - kept.length };
}

/** "DNAT to pod 10.42.1.2:8080 (web-1)", "SNAT (masquerade) as 10.42.0.0:7094 (server's flannel.1)". */
export function describeNat(e: AnnotatedEntry): string {
  const parts: string[] = [];
  if (e.dnat) parts.push(e.dnat.pod ? `DNAT to pod ${e.dnat.address} (${e.dnat.pod})` : `DNAT to ${e.dnat.address}${e.dnat.who ? ` (${e.dnat.who})` : ''}`);
  if (e.snat) parts.push(`SNAT (masquerade) as ${e.snat.address}${e.snat.who ? ` (${e.snat.who})` : ''}`);
  return parts.join('; ') || '-';
}
