// The cluster DNS's records, question by question, against a small cluster: a ClusterIP Service
// `web`, a headless `db` with two ready endpoints and one not ready, kubernetes.default, kube-dns and
// pods. Expected answers are what CoreDNS's kubernetes plugin gives on k3s (`dig` on a real node),
// written as "owner ttl TYPE data" so that a wrong TTL, owner case, weight or target shows in the diff.
import test from 'ava';
import type { Answer } from 'dns-packet';
import type { Endpoints, Namespace, Pod, Service, ServicePort } from '../../src/api/types.js';
import { type DnsView, resolveQuestion } from '../../src/dns/records.js';

type Addr = { ip: string; hostname?: string };

function service(namespace: string, name: string, clusterIP: string, ports: ServicePort[]): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { clusterIP, ports } };
}

function endpoints(namespace: string, name: string, ready: Addr[], notReady: Addr[], ports: ServicePort[]): Endpoints {
  const subset = { addresses: ready, notReadyAddresses: notReady, ports: ports.map(({ name: n, port, protocol }) => ({ name: n, port, protocol })) };
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace }, subsets: [subset] };
}

function pod(namespace: string, name: string, podIP: string, labels: Record<string, string> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [] }, status: { phase: 'Running', podIP } };
}

const ns = (name: string): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

const view: DnsView = {
  domain: 'cluster.local',
  serial: 1700000000,
  namespaces: [ns('default'), ns('kube-system'), ns('team')], // team exists but is empty
  services: [
    service('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    service('default', 'web', '10.43.0.20', [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }]),
    service('default', 'db', 'None', [{ name: 'postgres', port: 5432, protocol: 'TCP' }]),
    service('kube-system', 'kube-dns', '10.43.0.10', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }]),
  ],
  endpoints: [
    endpoints('default', 'kubernetes', [{ ip: '192.168.56.10' }], [], [{ name: 'https', port: 6443, protocol: 'TCP' }]),
    endpoints('default', 'web', [{ ip: '10.42.0.5' }], [], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
    endpoints('default', 'db', [{ ip: '10.42.0.10' }, { ip: '10.42.1.11', hostname: 'db-1' }], [{ ip: '10.42.2.12' }], [{ name: 'postgres', port: 5432, protocol: 'TCP' }]),
    endpoints('kube-system', 'kube-dns', [{ ip: '10.42.0.3' }], [], [{ name: 'dns', port: 53, protocol: 'UDP' }]),
  ],
  pods: [pod('kube-system', 'coredns-abc', '10.42.0.3', { 'k8s-app': 'kube-dns' }), pod('default', 'web-1', '10.42.0.5')],
};

function show(rr: Answer): string {
  const d = (rr as { data: unknown }).data;
  let data = String(d);
  if (rr.type === 'SRV') data = `${rr.data.priority} ${rr.data.weight} ${rr.data.port} ${rr.data.target}`;
  if (rr.type === 'SOA') data = `${rr.data.mname} ${rr.data.rname} ${rr.data.serial} ${rr.data.refresh} ${rr.data.retry} ${rr.data.expire} ${rr.data.minimum}`;
  return `${rr.name} ${(rr as { ttl?: number }).ttl} ${rr.type} ${data}`;
}

const SOA = 'cluster.local 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1700000000 7200 1800 86400 5';
const ARPA_SOA = 'in-addr.arpa 5 SOA ns.dns.in-addr.arpa hostmaster.in-addr.arpa 1700000000 7200 1800 86400 5';
const web = 'web.default.svc.cluster.local';

// [question, type, rcode, answers, additionals, authorities]
type Row = [string, string, string, string[], string[]?, string[]?];
const rows: Row[] = [
  // Services: ClusterIP, headless (ready endpoints only), kubernetes.default
  [web, 'A', 'NOERROR', [`${web} 5 A 10.43.0.20`]],
  ['db.default.svc.cluster.local', 'A', 'NOERROR', ['db.default.svc.cluster.local 5 A 10.42.0.10', 'db.default.svc.cluster.local 5 A 10.42.1.11']],
  ['kubernetes.default.svc.cluster.local', 'A', 'NOERROR', ['kubernetes.default.svc.cluster.local 5 A 10.43.0.1']],
  // Case-insensitive, trailing dot optional; owners (and SRV targets) keep the case they were asked in
  [`${web}.`, 'A', 'NOERROR', [`${web} 5 A 10.43.0.20`]],
  ['WEB.Default.SVC.Cluster.Local', 'A', 'NOERROR', ['WEB.Default.SVC.Cluster.Local 5 A 10.43.0.20']],
  ['_HTTP._TCP.web.default.svc.CLUSTER.LOCAL', 'SRV', 'NOERROR', ['_HTTP._TCP.web.default.svc.CLUSTER.LOCAL 5 SRV 0 100 80 web.default.svc.CLUSTER.LOCAL'], ['web.default.svc.CLUSTER.LOCAL 5 A 10.43.0.20']],
  // SRV: one port, all ports (weight 100/n), headless per endpoint with the A records as additionals
  [`_http._tcp.${web}`, 'SRV', 'NOERROR', [`_http._tcp.${web} 5 SRV 0 100 80 ${web}`], [`${web} 5 A 10.43.0.20`]],
  [`_dns._udp.${web}`, 'SRV', 'NOERROR', [`_dns._udp.${web} 5 SRV 0 100 53 ${web}`], [`${web} 5 A 10.43.0.20`]],
  [web, 'SRV', 'NOERROR', [`${web} 5 SRV 0 50 80 ${web}`, `${web} 5 SRV 0 50 53 ${web}`], [`${web} 5 A 10.43.0.20`]],
  ['_postgres._tcp.db.default.svc.cluster.local', 'SRV', 'NOERROR', [
    '_postgres._tcp.db.default.svc.cluster.local 5 SRV 0 50 5432 10-42-0-10.db.default.svc.cluster.local',
    '_postgres._tcp.db.default.svc.cluster.local 5 SRV 0 50 5432 db-1.db.default.svc.cluster.local',
  ], ['10-42-0-10.db.default.svc.cluster.local 5 A 10.42.0.10', 'db-1.db.default.svc.cluster.local 5 A 10.42.1.11']],
  [`_http._udp.${web}`, 'SRV', 'NXDOMAIN', [], [], [SOA]], // wrong protocol
  [`_http._tcp.${web}`, 'A', 'NOERROR', [`_http._tcp.${web} 5 A 10.43.0.20`]], // CoreDNS answers A on port names too
  // Endpoint names: by dashed IP or hostname; not-ready endpoints have none; ClusterIP Services' endpoints too
  ['10-42-0-10.db.default.svc.cluster.local', 'A', 'NOERROR', ['10-42-0-10.db.default.svc.cluster.local 5 A 10.42.0.10']],
  ['db-1.db.default.svc.cluster.local', 'A', 'NOERROR', ['db-1.db.default.svc.cluster.local 5 A 10.42.1.11']],
  ['10-42-2-12.db.default.svc.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]],
  ['10-42-0-5.web.default.svc.cluster.local', 'A', 'NOERROR', ['10-42-0-5.web.default.svc.cluster.local 5 A 10.42.0.5']],
  // Pods, insecure: any well-formed IP in an existing namespace
  ['10-42-7-99.default.pod.cluster.local', 'A', 'NOERROR', ['10-42-7-99.default.pod.cluster.local 5 A 10.42.7.99']],
  ['10-42-0-5.team.pod.cluster.local', 'A', 'NOERROR', ['10-42-0-5.team.pod.cluster.local 5 A 10.42.0.5']],
  ['10-42-0-5.nosuchns.pod.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]],
  ['300-1-1-1.default.pod.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]],
  ['01-2-3-4.default.pod.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]], // leading zeros are not an IP (Go's ParseIP)
  // NXDOMAIN (with SOA) for names that do not exist, NODATA (NOERROR, no answers, SOA) for other types
  ['nosuch.default.svc.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]],
  ['nosuch.default.svc.cluster.local', 'AAAA', 'NXDOMAIN', [], [], [SOA]],
  [web, 'AAAA', 'NOERROR', [], [], [SOA]],
  [web, 'MX', 'NOERROR', [], [], [SOA]],
  [web, 'TXT', 'NOERROR', [], [], [SOA]],
  ['foo.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]],
  [`a.b.c.${web}`, 'A', 'NXDOMAIN', [], [], [SOA]], // too many labels
  // Namespaces, svc, pod and the apex exist without records; a namespace that does not exist is NXDOMAIN
  ['default.svc.cluster.local', 'A', 'NOERROR', [], [], [SOA]],
  ['team.svc.cluster.local', 'A', 'NOERROR', [], [], [SOA]],
  ['nosuchns.svc.cluster.local', 'A', 'NXDOMAIN', [], [], [SOA]],
  ['svc.cluster.local', 'A', 'NOERROR', [], [], [SOA]],
  ['cluster.local', 'A', 'NOERROR', [], [], [SOA]],
  // Zone records: SOA, NS (the kube-dns Service in front of the DNS pod), dns-version
  ['cluster.local', 'SOA', 'NOERROR', [SOA]],
  ['nosuch.default.svc.cluster.local', 'SOA', 'NOERROR', [], [], [SOA]], // CoreDNS: SOA below the apex is NODATA
  ['cluster.local', 'NS', 'NOERROR', ['cluster.local 5 NS kube-dns.kube-system.svc.cluster.local'], ['kube-dns.kube-system.svc.cluster.local 5 A 10.43.0.10']],
  ['ns.dns.cluster.local', 'A', 'NOERROR', ['ns.dns.cluster.local 5 A 10.43.0.10']],
  ['dns-version.cluster.local', 'TXT', 'NOERROR', ['dns-version.cluster.local 28800 TXT 1.1.0']],
  [web, 'AXFR', 'REFUSED', []],
  // PTR: ClusterIPs, then ready endpoints of any Service
  ['20.0.43.10.in-addr.arpa', 'PTR', 'NOERROR', [`20.0.43.10.in-addr.arpa 5 PTR ${web}`]],
  ['1.0.43.10.IN-ADDR.ARPA.', 'PTR', 'NOERROR', ['1.0.43.10.IN-ADDR.ARPA 5 PTR kubernetes.default.svc.cluster.local']],
  ['10.0.42.10.in-addr.arpa', 'PTR', 'NOERROR', ['10.0.42.10.in-addr.arpa 5 PTR 10-42-0-10.db.default.svc.cluster.local']],
  ['11.1.42.10.in-addr.arpa', 'PTR', 'NOERROR', ['11.1.42.10.in-addr.arpa 5 PTR db-1.db.default.svc.cluster.local']],
  ['5.0.42.10.in-addr.arpa', 'PTR', 'NOERROR', ['5.0.42.10.in-addr.arpa 5 PTR 10-42-0-5.web.default.svc.cluster.local']],
  ['12.2.42.10.in-addr.arpa', 'PTR', 'NXDOMAIN', [], [], [ARPA_SOA]], // not ready
  ['0.42.10.in-addr.arpa', 'PTR', 'NXDOMAIN', [], [], [ARPA_SOA]], // not a whole address
  // Outside the cluster domain: REFUSED, no SOA (the lab has no upstream resolver)
  ['example.com', 'A', 'REFUSED', []],
  ['web.default', 'A', 'REFUSED', []],
  ['local', 'A', 'REFUSED', []],
];

for (const [name, type, rcode, answers, additionals = [], authorities = []] of rows) {
  test(`${type} ${name} -> ${rcode} ${answers.length} answer(s)`, (t) => {
    const r = resolveQuestion(view, { name, type });
    t.deepEqual(
      { rcode: r.rcode, answers: r.answers.map(show), additionals: r.additionals.map(show), authorities: r.authorities.map(show) },
      { rcode, answers, additionals, authorities },
    );
  });
}

test('a headless Service drops an endpoint as soon as it is not ready', (t) => {
  const db = view.endpoints[2]!;
  const [first, second] = db.subsets![0]!.addresses!;
  const changed = { ...view, endpoints: [endpoints('default', 'db', [first!], [second!], [{ name: 'postgres', port: 5432 }])] };
  t.deepEqual(resolveQuestion(changed, { name: 'db.default.svc.cluster.local', type: 'A' }).answers.map(show), ['db.default.svc.cluster.local 5 A 10.42.0.10']);
  const none = { ...view, endpoints: [endpoints('default', 'db', [], [first!, second!], [])] };
  t.is(resolveQuestion(none, { name: 'db.default.svc.cluster.local', type: 'A' }).rcode, 'NXDOMAIN'); // as CoreDNS does
});

test('SRV weights are floor(100 / n), at least 1', (t) => {
  const many = (n: number): DnsView => ({
    ...view,
    endpoints: [endpoints('default', 'db', Array.from({ length: n }, (_, i) => ({ ip: `10.42.3.${i + 1}` })), [], [{ name: 'postgres', port: 5432 }])],
  });
  const weights = (n: number) => resolveQuestion(many(n), { name: '_postgres._tcp.db.default.svc.cluster.local', type: 'SRV' }).answers.map((a) => (a.type === 'SRV' ? a.data.weight : -1));
  t.deepEqual(weights(3), [33, 33, 33]);
  t.deepEqual(new Set(weights(150)), new Set([1]));
});

test('another cluster domain moves every name', (t) => {
  const lab = { ...view, domain: 'lab.internal' };
  t.deepEqual(resolveQuestion(lab, { name: 'web.default.svc.lab.internal', type: 'A' }).answers.map(show), ['web.default.svc.lab.internal 5 A 10.43.0.20']);
  t.is(resolveQuestion(lab, { name: web, type: 'A' }).rcode, 'REFUSED');
  t.deepEqual(resolveQuestion(lab, { name: '20.0.43.10.in-addr.arpa', type: 'PTR' }).answers.map(show), ['20.0.43.10.in-addr.arpa 5 PTR web.default.svc.lab.internal']);
  t.deepEqual(resolveQuestion(lab, { name: 'nosuch.lab.internal', type: 'A' }).authorities.map(show), [SOA.replaceAll('cluster.local', 'lab.internal')]);
});

test('without a namespace list, a namespace exists when something lives in it', (t) => {
  const { namespaces: _, ...bare } = view;
  t.is(resolveQuestion(bare, { name: 'default.svc.cluster.local', type: 'A' }).rcode, 'NOERROR');
  t.is(resolveQuestion(bare, { name: 'team.svc.cluster.local', type: 'A' }).rcode, 'NXDOMAIN');
});
