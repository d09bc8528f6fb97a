// The Endpoints controller: which pods a Service's selector picks, ready and not ready, in IP
// order, with the port a named targetPort resolves to; EndpointCandidates (one selection per
// selector in a sync) must give exactly what a fresh computation gives.
import test from 'ava';
import type { Pod, Service } from '../../src/api/types.js';
import { EndpointCandidates, endpointsFor } from '../../src/agent/controllers/endpoints.js';

function pod(name: string, ip: string, labels: Record<string, string>, extra: { ready?: boolean; terminating?: boolean; namespace?: string; port?: number } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: extra.namespace ?? 'default', uid: `uid-${name}`, labels, ...(extra.terminating ? { deletionTimestamp: '2026-11-27T00:00:00Z' } : {}) },
    spec: { nodeName: 'server', containers: [{ name: 'c', image: 'agnhost', ports: [{ name: 'http', containerPort: extra.port ?? 8080 }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }] },
  } as Pod;
}

function service(name: string, selector: Record<string, string>, namespace = 'default'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports: [{ name: 'web', port: 80, targetPort: 'http' }] } } as Service;
}

const PODS = [
  pod('b', '10.42.1.10', { app: 'web' }),
  pod('a', '10.42.1.9', { app: 'web' }),
  pod('sick', '10.42.0.5', { app: 'web' }, { ready: false }),
  pod('going', '10.42.2.2', { app: 'web' }, { terminating: true }),
  pod('other-port', '10.42.2.3', { app: 'web', v: '2' }, { port: 9090 }),
  pod('elsewhere', '10.42.2.4', { app: 'web' }, { namespace: 'shop' }),
  pod('db', '10.42.2.5', { app: 'db' }),
];

test('ready pods are addresses, unready ones notReadyAddresses, terminating ones neither; IP order; named ports per pod', (t) => {
  const ep = endpointsFor(service('web', { app: 'web' }), PODS)!;
  t.deepEqual(
    ep.subsets!.map((s) => ({ port: s.ports![0]!.port, ready: s.addresses?.map((a) => a.ip), notReady: s.notReadyAddresses?.map((a) => a.ip) })),
    [
      { port: 8080, ready: ['10.42.1.9', '10.42.1.10'], notReady: ['10.42.0.5'] },
      { port: 9090, ready: ['10.42.2.3'], notReady: undefined },
    ],
  );
  t.is(endpointsFor({ ...service('x', {}), spec: { ports: [] } } as unknown as Service, PODS), undefined, 'no selector: the user owns the Endpoints');
});

test('EndpointCandidates shared by many Services gives what each computed alone gives', (t) => {
  const services = [service('web', { app: 'web' }), service('web2', { app: 'web' }), service('v2', { v: '2', app: 'web' }), service('db', { app: 'db' }), service('shop', { app: 'web' }, 'shop')];
  const shared = new EndpointCandidates(PODS);
  for (const s of services) t.deepEqual(endpointsFor(s, shared), endpointsFor(s, PODS), s.metadata.name);
  t.is(shared.select('default', { app: 'web', v: '2' }), shared.select('default', { v: '2', app: 'web' }), 'one selection per selector, whatever the key order');
});
