// From v1 Service + v1 Endpoints / discovery.k8s.io/v1 EndpointSlice objects to the renderer's
// snapshot, and `knetlab proxy render` end to end (no root: it only prints text).
import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Service } from '../../src/api/types.js';
import { parseProxyObjects, snapshotFromObjects } from '../../src/proxy/from-objects.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const service = (spec: Partial<Service['spec']> = {}): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec },
});

const endpoints: Endpoints = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'web', namespace: 'shop' },
  subsets: [{ addresses: [{ ip: '10.42.1.5', nodeName: 'agent-1' }], notReadyAddresses: [{ ip: '10.42.2.5' }], ports: [{ name: 'http', port: 8080 }] }],
};

test('a Service port with its Endpoints becomes one service of the snapshot; not-ready addresses stay, marked', (t) => {
  const snap = snapshotFromObjects([service()], [endpoints]);
  t.is(snap.services.length, 1);
  t.like(snap.services[0]!.service, { namespace: 'shop', name: 'web', portName: 'http', protocol: 'TCP', clusterIP: '10.43.0.20', port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' });
  t.deepEqual(snap.services[0]!.endpoints, [
    { ip: '10.42.1.5', port: 8080, ready: true, nodeName: 'agent-1' },
    { ip: '10.42.2.5', port: 8080, ready: false },
  ]);
});

test('endpoints are matched to Service ports by name and protocol', (t) => {
  const svc = service({ ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] });
  const eps: Endpoints = { ...endpoints, subsets: [{ addresses: [{ ip: '10.42.0.3' }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 5353, protocol: 'TCP' }] }] };
  const snap = snapshotFromObjects([svc], [eps]);
  t.deepEqual(snap.services.map((s) => [s.service.portName, s.service.protocol, s.endpoints.map((e) => e.port)]), [
    ['dns', 'UDP', [53]],
    ['dns-tcp', 'TCP', [5353]],
  ]);
});

test('EndpointSlices: the service-name label links them, ready defaults to true, the first address counts', (t) => {
  const snap = snapshotFromObjects(
    [service({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] })],
    [
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-abc', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.42.1.9', '10.42.1.10'], nodeName: 'agent-1' }, { addresses: ['10.42.2.9'], conditions: { ready: false } }],
        ports: [{ name: 'http', port: 8080 }],
      },
    ],
  );
  t.is(snap.services[0]!.service.nodePort, 30080);
  t.is(snap.services[0]!.service.externalTrafficPolicy, 'Local');
  t.deepEqual(snap.services[0]!.endpoints, [
    { ip: '10.42.1.9', port: 8080, ready: true, nodeName: 'agent-1' },
    { ip: '10.42.2.9', port: 8080, ready: false },
  ]);
});

test('headless Services and Services without a ClusterIP are left out, as kube-proxy skips them', (t) => {
  t.deepEqual(snapshotFromObjects([service({ clusterIP: 'None' }), service({ clusterIP: undefined })], [endpoints]).services, []);
});

test('YAML: Services, Endpoints, EndpointSlices and Lists are read; other kinds are skipped with a warning', (t) => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {clusterIP: 10.43.0.20, ports: [{port: 80}]}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.42.0.7]}]
ports: [{port: 8080}]
`;
  const found = parseProxyObjects(text, 'objects.yaml');
  t.is(found.services.length, 1);
  t.is(found.endpoints.length, 1);
  t.deepEqual(found.diagnostics.map((d) => `${d.file}:${d.line}:${d.col} ${d.severity} ${d.message}`), ['objects.yaml:9:11 warning ConfigMap is not read by proxy render; skipped']);
  t.deepEqual(snapshotFromObjects(found.services, found.endpoints).services[0]!.endpoints, [{ ip: '10.42.0.7', port: 8080, ready: true }]);
});

test('YAML: every problem is reported with its file:line:col', (t) => {
  const text = `apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
  - addresses: [{ip: 10.1.2.300}]
    ports: [{port: 70000, protocol: SCTP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1}
addressType: IPv4
endpoints: [{addresses: []}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.43.0.20, type: NodePort, ports: [{port: 80}]}
---
apiVersion: v1beta1
kind: EndpointSlice
metadata: {name: old}
`;
  const found = parseProxyObjects(text, 'bad.yaml');
  const lines = found.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.path}`);
  t.deepEqual(lines, [
    '5:22 error subsets[0].addresses[0].ip',
    '6:20 error subsets[0].ports[0].port',
    '6:37 error subsets[0].ports[0].protocol',
    '10:1 error metadata',
    '12:25 error endpoints[0].addresses',
    '17:55 warning spec.ports[0]',
    '19:13 error apiVersion',
  ]);
  t.is(found.endpoints.length, 0);
});

/** Runs `knetlab proxy render` from the TypeScript sources, as a user would run the built CLI. */
function proxyRender(args: string[]) {
  const script = "const { default: C } = await import('./commands/proxy/render.ts'); await C.run(process.argv.slice(1), { root: process.cwd() });";
  return execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], { cwd: ROOT, reject: false });
}

test('proxy render prints the full-sync restore text of the example', async (t) => {
  const r = await proxyRender(['-f', 'examples/proxy-objects.yaml', '--cluster-cidr', '10.42.0.0/16', '--node-name', 'agent-1']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^\*filter\n/);
  t.regex(r.stdout, /-A KUBE-NODEPORTS -m comment --comment default\/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-/);
  t.regex(r.stdout, /-A KUBE-SVL-\S+ -m comment --comment "default\/web:http -> 10.42.1.9:8080" -j KUBE-SEP-/);
  t.is(r.stdout.match(/--probability 0.3333333333/g)?.length, 1);
  t.notRegex(r.stdout, /10\.42\.2\.8/, 'the not-ready endpoint gets no rules');
});

test('proxy render: invalid input exits 2 with file:line:col', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-proxy-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets: [{addresses: [{ip: not-an-ip}], ports: [{port: 80}]}]\n');
  const bad = await proxyRender(['-f', file, '--cluster-cidr', '10.42.0.0/16']);
  t.is(bad.exitCode, 2);
  t.true(bad.stderr.includes(`${file}:4:29 subsets[0].addresses[0].ip: "not-an-ip" is not an IPv4 address`), bad.stderr);
  t.is(bad.stdout, '');
  const cidr = await proxyRender(['-f', 'examples/proxy-objects.yaml', '--cluster-cidr', '10.42.0.0']);
  t.is(cidr.exitCode, 2);
  t.regex(cidr.stderr, /is not an IPv4 CIDR/);
  const serviceCIDR = await proxyRender(['-f', 'examples/proxy-objects.yaml', '--cluster-cidr', '10.42.0.0/16', '--mode', 'nftables', '--service-cidr', '10.43.0.0']);
  t.is(serviceCIDR.exitCode, 2);
  t.regex(serviceCIDR.stderr, /--service-cidr "10.43.0.0" is not an IPv4 CIDR/);
});

test('proxy render --mode nftables prints the nft -f input of table ip kube-proxy', async (t) => {
  const r = await proxyRender(['-f', 'examples/proxy-objects.yaml', '--cluster-cidr', '10.42.0.0/16', '--node-ip', '192.168.100.10', '--mode', 'nftables', '--service-cidr', '10.43.0.0/16']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^add table ip kube-proxy /);
  t.regex(r.stdout, /add chain ip kube-proxy service-\S+-default\/web\/tcp\/http \{ .*numgen random mod 2 vmap \{ 0 : goto endpoint-\S+__10\.42\.1\.9\/8080 , 1 : goto endpoint-/);
  t.regex(r.stdout, /ip daddr \{ 10\.43\.0\.0\/16 \} drop/);
  t.notRegex(r.stdout, /10\.42\.2\.8/, 'the not-ready endpoint gets no rules');
});
