// The name lookups of CoreDNS's kubernetes plugin (plugin/kubernetes: parse.go, kubernetes.go,
// reverse.go, ns.go), as pure functions of a DnsView. Like CoreDNS they produce "items" (an address,
// a port and the name that address is known by), and records.ts turns items into A, SRV, PTR and NS
// records per query type. Keeping that split is what makes the corner cases come out as CoreDNS's
// do: e.g. an SRV query on a Service name lists every port, and weights count every item.
import type { Endpoints, EndpointAddress, EndpointSubset, Pod, Service } from '../api/types.js';
import { addressFromReverse, canonicalIP, endpointLabel, podNameToIP, trimZone } from './names.js';
import type { DnsView } from './records.js';

/** CoreDNS's msg.Service: `host` is an IP, `name` the owner of its address record (SRV target). */
export interface Item {
  host: string;
  port: number; // -1: an endpoint subset without ports (CoreDNS's sentinel; no SRV record)
  name: string;
  text?: string; // TXT items only
  ttl?: number;
}

/** Items (possibly none: the name exists without records of that kind) or 'nxdomain'. */
export type Found = Item[] | 'nxdomain';

/** A question in context: the zone it matched, in lower case and in the case it was asked in. */
export interface Context {
  view: DnsView;
  primary: string; // the cluster domain, lower case
  zone: string; // lower case
  zoneAsAsked: string; // CoreDNS keeps the query's case for the zone part of names it makes
}

interface Request {
  podOrSvc: '' | 'svc' | 'pod';
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

/**
 * parse.go: `[_port._proto.|endpoint.]service.namespace.svc|pod` under the zone. Fewer labels are
 * the apex, `svc`, `pod` or a namespace (names that exist without records); more, or a last label
 * other than svc/pod, is invalid (NXDOMAIN). The port labels need not start with `_`.
 */
function parseRequest(base: string): Request | 'invalid' {
  const r: Request = { podOrSvc: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };
  if (base === '' || base === 'svc' || base === 'pod') return r;
  const segs = base.split('.');
  const kind = segs.pop();
  if (kind !== 'svc' && kind !== 'pod') return 'invalid';
  r.podOrSvc = kind;
  r.namespace = segs.pop() ?? '';
  r.service = segs.pop() ?? '';
  if (segs.length === 1) r.endpoint = segs[0] ?? '';
  else if (segs.length === 2) [r.port, r.protocol] = segs.map((s) => s.replace(/^_/, '')) as [string, string];
  else if (segs.length > 2) return 'invalid';
  return r;
}

const nsOf = (o: { metadata: { namespace?: string } }): string => o.metadata.namespace ?? 'default';

export function clusterIPs(svc: Service): string[] {
  if (svc.spec.clusterIPs?.length) return svc.spec.clusterIPs;
  return svc.spec.clusterIP ? [svc.spec.clusterIP] : [];
}

export const isHeadless = (svc: Service): boolean => clusterIPs(svc)[0] === 'None';

/** A namespace exists if it is listed, or (when the view lists none) if any object lives in it. */
function namespaceExists(view: DnsView, ns: string): boolean {
  if (view.namespaces) return view.namespaces.some((n) => n.metadata.name.toLowerCase() === ns);
  const objects: { metadata: { namespace?: string } }[] = [...view.services, ...view.endpoints, ...view.pods];
  return objects.some((o) => nsOf(o).toLowerCase() === ns);
}

/** Ready addresses only: CoreDNS drops endpoints whose `ready` condition is false (notReadyAddresses). */
const readyAddresses = (subset: EndpointSubset): (EndpointAddress & { hostname?: string })[] => subset.addresses ?? [];

/** A subset without ports gets CoreDNS's sentinel port -1, so A queries still find its addresses. */
function subsetPorts(subset: EndpointSubset): { name: string; port: number; protocol: string }[] {
  if (!subset.ports?.length) return [{ name: '', port: -1, protocol: '' }];
  return subset.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' }));
}

/** An empty port or protocol in the request matches anything (matchPortAndProtocol). */
const matches = (want: string, have: string): boolean => want === '' || want === have.toLowerCase();

function endpointsOf(view: DnsView, namespace: string, name: string): Endpoints[] {
  return view.endpoints.filter((e) => e.metadata.name === name && nsOf(e) === namespace);
}

/** findServices: a ClusterIP Service answers with its ClusterIP(s); headless ones (and endpoint names of any Service) with endpoints. */
function findServices(c: Context, r: Request): Found {
  if (r.service === '') return []; // `NS.svc.DOMAIN` of an existing namespace: NODATA
  let found = false;
  const items: Item[] = [];
  for (const svc of c.view.services) {
    const namespace = nsOf(svc);
    if (namespace.toLowerCase() !== r.namespace || svc.metadata.name.toLowerCase() !== r.service) continue;
    const name = `${svc.metadata.name}.${namespace}.svc.${c.zoneAsAsked}`;
    // CoreDNS answers `A-B-C-D.SVC.NS.svc.DOMAIN` for ClusterIP Services too, not only headless ones.
    if (isHeadless(svc) || r.endpoint !== '') {
      for (const ep of endpointsOf(c.view, namespace, svc.metadata.name)) {
        for (const subset of ep.subsets ?? []) {
          for (const addr of readyAddresses(subset)) {
            const label = endpointLabel(addr.ip, addr.hostname);
            if (r.endpoint !== '' && r.endpoint !== label.toLowerCase()) continue;
            for (const p of subsetPorts(subset)) {
              if (!matches(r.port, p.name) || !matches(r.protocol, p.protocol)) continue;
              found = true;
              items.push({ host: addr.ip, port: p.port, name: `${label}.${name}` });
            }
          }
        }
      }
      continue;
    }
    for (const p of svc.spec.ports ?? []) {
      if (!matches(r.port, p.name ?? '') || !matches(r.protocol, p.protocol ?? 'TCP')) continue;
      found = true;
      for (const ip of clusterIPs(svc)) items.push({ host: ip, port: p.port, name });
    }
  }
  // A headless Service with no ready endpoints, or a port that matches nothing, is NXDOMAIN in CoreDNS.
  return found ? items : 'nxdomain';
}

/** findPods, `pods insecure`: any well-formed dashed IP in an existing namespace answers, pod or not. */
function findPods(c: Context, r: Request): Found {
  if (r.service === '') return []; // `NS.pod.DOMAIN`: NODATA
  const ip = podNameToIP(r.service);
  if (ip === undefined) return 'nxdomain';
  // Like CoreDNS, extra labels in front (`x.1-2-3-4.ns.pod.DOMAIN`) are ignored; port 0 for SRV.
  return [{ host: ip, port: 0, name: `${r.service}.${r.namespace}.pod.${c.zoneAsAsked}` }];
}

/** Kubernetes.Records: the items for a (lower-case) name in the context's zone. */
export function records(c: Context, name: string): Found {
  const r = parseRequest(trimZone(name, c.zone));
  if (r === 'invalid') return 'nxdomain';
  if (r.podOrSvc === '') return [];
  if (c.zone !== c.primary) return 'nxdomain'; // `...svc.in-addr.arpa` and the like
  if (!namespaceExists(c.view, r.namespace)) return 'nxdomain';
  return r.podOrSvc === 'pod' ? findPods(c, r) : findServices(c, r);
}

/**
 * nsAddrs: the names and addresses of the DNS server itself. CoreDNS finds its own pod IPs among the
 * Endpoints and answers with the Services in front of them (kube-dns.kube-system.svc.DOMAIN at
 * the cluster-dns IP); the lab's DNS pod is the one labelled `k8s-app: kube-dns`, as CoreDNS's is.
 */
export function nameservers(c: Context): Item[] {
  const dnsPods = c.view.pods.filter((p: Pod) => p.metadata.labels?.['k8s-app'] === 'kube-dns' && p.status?.podIP);
  const localIPs = dnsPods.map((p) => p.status?.podIP ?? '');
  const items: Item[] = [];
  let foundEndpoint = false;
  for (const ip of localIPs) {
    for (const ep of c.view.endpoints) {
      if (!(ep.subsets ?? []).some((s) => readyAddresses(s).some((a) => a.ip === ip))) continue;
      foundEndpoint = true;
      for (const svc of c.view.services.filter((s) => s.metadata.name === ep.metadata.name && nsOf(s) === nsOf(ep))) {
        const name = `${svc.metadata.name}.${nsOf(svc)}.svc.${c.zoneAsAsked}`;
        if (!isHeadless(svc)) items.push(...clusterIPs(svc).map((host) => ({ host, port: 0, name })));
        else for (const s of ep.subsets ?? []) for (const a of readyAddresses(s)) items.push({ host: a.ip, port: 0, name: `${endpointLabel(a.ip, a.hostname)}.${name}` });
      }
    }
  }
  if (!foundEndpoint) return localIPs.map((host) => ({ host, port: 0, name: `ns.dns.${c.zoneAsAsked}` }));
  return items;
}

/**
 * reverse.go: the names a reverse name points at. A ClusterIP gives its Service's name (the first
 * Service found, only); otherwise every ready endpoint with that IP gives `LABEL.SVC.NS.svc.DOMAIN`
 * -- for endpoints of ClusterIP Services as well as headless ones. Names always use the cluster domain.
 */
export function reverse(c: Context, name: string): string[] | 'nxdomain' {
  const ip = addressFromReverse(name);
  if (ip === '') {
    const found = records(c, name);
    return found === 'nxdomain' ? found : [];
  }
  const same = (other: string): boolean => canonicalIP(other) === canonicalIP(ip);
  const svc = c.view.services.find((s) => !isHeadless(s) && clusterIPs(s).some(same));
  if (svc) return [`${svc.metadata.name}.${nsOf(svc)}.svc.${c.primary}`];
  const names: string[] = [];
  for (const ep of c.view.endpoints) {
    for (const subset of ep.subsets ?? []) {
      for (const a of readyAddresses(subset)) {
        if (same(a.ip)) names.push(`${endpointLabel(a.ip, a.hostname)}.${ep.metadata.name}.${nsOf(ep)}.svc.${c.primary}`);
      }
    }
  }
  return names.length ? [...new Set(names)] : 'nxdomain';
}
