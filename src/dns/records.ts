// The cluster DNS's answers, as CoreDNS's kubernetes plugin gives them with k3s's Corefile:
//   kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa }
// (default ttl 5). Students compare `dig` output here with a real k3s node, so the rules follow the
// plugin's source (handler.go and plugin/backend_lookup.go), quirks included, and the Kubernetes DNS
// spec (kubernetes/dns docs/specification.md). Pure: a DnsView and a question in, sections out.
import type { Answer } from 'dns-packet';
import type { Endpoints, Namespace, Pod, Service } from '../api/types.js';
import { type Context, type Found, type Item, nameservers, records, reverse } from './lookup.js';
import { canonicalIP, matchZone, REVERSE_ZONES, stripDot, trimZone } from './names.js';

export interface DnsView {
  domain: string; // the cluster domain, e.g. cluster.local
  services: Service[];
  endpoints: Endpoints[];
  pods: Pod[];
  /** Existing namespaces; when absent, a namespace exists if some Service, Endpoints or Pod is in it. */
  namespaces?: Namespace[];
  /** The SOA serial. CoreDNS uses the Unix time of the last change it saw to any object; default 0. */
  serial?: number;
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'NOTIMP';

export interface Resolution {
  rcode: Rcode;
  answers: Answer[];
  additionals: Answer[];
  authorities: Answer[];
}

/** The kubernetes plugin's default TTL, which k3s keeps. */
export const TTL = 5;
/** The TXT answer for `dns-version.DOMAIN`: the version of the Kubernetes DNS spec implemented. */
export const DNS_SCHEMA_VERSION = '1.1.0';

const empty = (rcode: Rcode): Resolution => ({ rcode, answers: [], additionals: [], authorities: [] });

/** plugin.SOA: what NXDOMAIN and NODATA answers carry in the authority section. */
function soa(c: Context): Answer {
  const zone = c.zoneAsAsked;
  const serial = (c.view.serial ?? 0) >>> 0;
  const data = { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: TTL };
  return { name: zone, type: 'SOA', class: 'IN', ttl: Math.min(TTL, 300), data };
}

/** An item's address as an A or AAAA record (owner `name`), if the item's host is that kind of IP. */
function address(item: Item, name: string, type: 'A' | 'AAAA'): Answer | undefined {
  const canonical = canonicalIP(item.host);
  if (canonical === undefined || canonical.includes(':') !== (type === 'AAAA')) return undefined;
  return { name, type, class: 'IN', ttl: item.ttl ?? TTL, data: item.host };
}

/** plugin.A / plugin.AAAA: one record per distinct address, owned by the name as asked. */
function addresses(items: Item[], qname: string, type: 'A' | 'AAAA'): Answer[] {
  const seen = new Set<string>();
  const out: Answer[] = [];
  for (const item of items) {
    const rr = address(item, qname, type);
    if (rr && !seen.has(item.host)) {
      seen.add(item.host);
      out.push(rr);
    }
  }
  return out;
}

/**
 * plugin.SRV: priority 0 and weight floor(100 / n) for n items (the count is taken before
 * duplicates are dropped, and includes port -1 items, which get no record), at least 1. Target is the
 * item's name; its address goes in the additional section once per target and address.
 */
function srv(items: Item[], qname: string): { answers: Answer[]; additionals: Answer[] } {
  const weight = Math.max(1, Math.floor((100 / (100 * items.length)) * 100));
  const seen = new Set<string>();
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  for (const item of items) {
    if (item.port === -1) continue;
    const extra = address(item, item.name, 'A') ?? address(item, item.name, 'AAAA');
    if (!extra) continue;
    const key = `${item.name}\0${item.port}`;
    if (!seen.has(key)) {
      seen.add(key);
      answers.push({ name: qname, type: 'SRV', class: 'IN', ttl: item.ttl ?? TTL, data: { priority: 0, weight, port: item.port, target: item.name } });
    }
    const addrKey = `${item.name}\0${item.host}\0addr`;
    if (!seen.has(addrKey)) {
      seen.add(addrKey);
      additionals.push(extra);
    }
  }
  return { answers, additionals };
}

/** Kubernetes.Services: TXT, NS and `ns.dns.DOMAIN` are special, every other type goes to records(). */
function services(c: Context, name: string, qname: string, type: string): Found {
  if (type === 'TXT') {
    if (trimZone(name, c.zone) === 'dns-version') return [{ host: '', port: 0, name: qname, text: DNS_SCHEMA_VERSION, ttl: 28800 }];
    // A name with records of another type is NODATA; one without any (even a namespace) NXDOMAIN.
    const found = records(c, name);
    return found !== 'nxdomain' && found.length > 0 ? [] : 'nxdomain';
  }
  if (type === 'NS') return nameservers(c);
  if (name === `ns.dns.${c.zone}`) return nameservers(c).map((item) => ({ ...item, name: qname }));
  return records(c, name);
}

/**
 * Answers one question. Names are case-insensitive and may end in a dot; owners of answers keep the
 * case of the question, as CoreDNS's do. Names outside the cluster domain and the reverse zones are
 * REFUSED: in k3s the `forward . /etc/resolv.conf` plugin would send them upstream, and the lab has
 * no upstream resolver.
 */
export function resolveQuestion(view: DnsView, q: { name: string; type: string }): Resolution {
  const qname = stripDot(q.name);
  const name = qname.toLowerCase();
  const primary = stripDot(view.domain).toLowerCase();
  const zone = matchZone(name, [primary, ...REVERSE_ZONES]);
  if (zone === undefined) return empty('REFUSED');
  // In the reverse zones CoreDNS falls through to `forward` when it has no answer; with no upstream
  // the lab gives the NXDOMAIN the plugin would give without fallthrough (and an upstream for
  // private ranges, RFC 6303, would give too).
  const c: Context = { view, primary, zone, zoneAsAsked: qname.slice(qname.length - zone.length) };
  const type = q.type.toUpperCase();
  let found: Found;
  let answers: Answer[] = [];
  let additionals: Answer[] = [];
  switch (type) {
    case 'A':
    case 'AAAA':
      found = services(c, name, qname, type);
      if (found !== 'nxdomain') answers = addresses(found, qname, type);
      break;
    case 'TXT':
      found = services(c, name, qname, type);
      if (found !== 'nxdomain') answers = found.map((i) => ({ name: qname, type: 'TXT', class: 'IN', ttl: i.ttl ?? TTL, data: i.text ?? '' }));
      break;
    case 'SRV':
      found = services(c, name, qname, type);
      if (found !== 'nxdomain') ({ answers, additionals } = srv(found, qname));
      break;
    case 'PTR': {
      const targets = reverse(c, name);
      found = targets === 'nxdomain' ? targets : [];
      if (targets !== 'nxdomain') answers = targets.map((t) => ({ name: qname, type: 'PTR', class: 'IN', ttl: TTL, data: t }));
      break;
    }
    case 'SOA':
      // Only the apex has one; CoreDNS answers SOA for any other name with NODATA, even one that does not exist.
      found = [];
      if (name === zone) answers = [soa(c)];
      break;
    case 'AXFR':
    case 'IXFR':
      return empty('REFUSED'); // no zone transfers (k3s has no `transfer` plugin)
    case 'NS':
      if (name === zone) {
        found = services(c, name, qname, type);
        if (found !== 'nxdomain') {
          answers = [...new Set(found.map((i) => i.name))].map((ns) => ({ name: qname, type: 'NS', class: 'IN', ttl: TTL, data: ns }));
          additionals = found.flatMap((i) => address(i, i.name, 'A') ?? address(i, i.name, 'AAAA') ?? []);
        }
        break;
      }
    // falls through: NS below the apex is answered like any other type
    default:
      // CNAME and MX included: the lab has no ExternalName Services, so no name has such records.
      // An A lookup tells NXDOMAIN from NODATA, as CoreDNS's "fake A lookup" does.
      found = services(c, name, qname, 'A');
  }
  if (found === 'nxdomain') return { ...empty('NXDOMAIN'), authorities: [soa(c)] };
  if (answers.length === 0) return { ...empty('NOERROR'), authorities: [soa(c)] };
  return { rcode: 'NOERROR', answers, additionals, authorities: [] };
}
