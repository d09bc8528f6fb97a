// `kubectl apply` semantics for the kinds the lab handles: create what is new, update what
// changed, leave the rest, and refuse what Kubernetes refuses (a pod's spec is immutable, a
// Service's ClusterIP cannot change). Each result line reads like kubectl's.
import type { Deployment, Manifest, Namespace, Pod, Service } from '../api/types.js';
import type { ServiceAllocations } from './services.js';
import type { Store } from './store.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';
export interface ApplyResult {
  kind: string;
  namespace?: string;
  name: string;
  action?: ApplyAction;
  error?: string;
  /** For pods: where it runs, once it does. */
  phase?: string;
  nodeName?: string;
  podIP?: string;
}

export function namespaceObject(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, status: { phase: 'Active' } };
}

export function applyManifest(store: Store, services: ServiceAllocations, item: Manifest): ApplyResult {
  const { name } = item.metadata;
  if (item.kind === 'Namespace') {
    const existing = store.get<Namespace>('Namespace', undefined, name);
    if (existing && same(existing.metadata.labels, item.metadata.labels ?? existing.metadata.labels)) return { kind: 'Namespace', name, action: 'unchanged' };
    store.put({ ...namespaceObject(name), ...existing, metadata: { ...existing?.metadata, ...item.metadata, labels: { ...item.metadata.labels, 'kubernetes.io/metadata.name': name } } });
    return { kind: 'Namespace', name, action: existing ? 'configured' : 'created' };
  }
  const namespace = item.metadata.namespace ?? 'default';
  const result: ApplyResult = { kind: item.kind, namespace, name };
  if (!store.get('Namespace', undefined, namespace)) return { ...result, error: `namespaces "${namespace}" not found` };
  const metadata = { ...item.metadata, namespace };
  switch (item.kind) {
    case 'Pod':
      return { ...result, ...applyPod(store, { ...item, metadata }) };
    case 'Deployment':
      return { ...result, ...applyDeployment(store, { ...item, metadata }) };
    case 'Service':
      return { ...result, ...applyService(store, services, { ...item, metadata }) };
  }
}

type Outcome = Pick<ApplyResult, 'action' | 'error'>;

function applyPod(store: Store, pod: Pod): Outcome {
  const existing = store.get<Pod>('Pod', pod.metadata.namespace, pod.metadata.name);
  if (!existing) {
    store.put<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata, spec: pod.spec, status: { phase: 'Pending' } });
    return { action: 'created' };
  }
  const { nodeName: placed, ...storedSpec } = existing.spec;
  const { nodeName: wanted, ...appliedSpec } = pod.spec;
  if (!same(storedSpec, appliedSpec) || (wanted && wanted !== placed)) {
    return { error: `Pod "${pod.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields other than labels and annotations; delete the pod and apply it again` };
  }
  if (sameMeta(existing, pod)) return { action: 'unchanged' };
  store.put<Pod>({ ...existing, metadata: { ...existing.metadata, labels: pod.metadata.labels, annotations: pod.metadata.annotations } });
  return { action: 'configured' };
}

function applyDeployment(store: Store, deployment: Deployment): Outcome {
  const existing = store.get<Deployment>('Deployment', deployment.metadata.namespace, deployment.metadata.name);
  if (existing && same(existing.spec, deployment.spec) && sameMeta(existing, deployment)) return { action: 'unchanged' };
  if (existing && !same(existing.spec.selector, deployment.spec.selector)) {
    return { error: `Deployment.apps "${deployment.metadata.name}" is invalid: spec.selector: Invalid value: field is immutable; delete the Deployment and apply it again` };
  }
  store.put<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { ...existing?.metadata, ...deployment.metadata }, spec: deployment.spec, status: existing?.status ?? {} });
  return { action: existing ? 'configured' : 'created' };
}

function applyService(store: Store, services: ServiceAllocations, service: Service): Outcome {
  const existing = store.get<Service>('Service', service.metadata.namespace, service.metadata.name);
  let allocated: Service;
  try {
    allocated = services.allocate(service, existing);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const stored: Service = { ...allocated, apiVersion: 'v1', kind: 'Service', metadata: { ...existing?.metadata, ...service.metadata } };
  if (existing && same(existing.spec, stored.spec) && sameMeta(existing, stored)) return { action: 'unchanged' };
  store.put(stored);
  return { action: existing ? 'configured' : 'created' };
}

function sameMeta(a: { metadata: { labels?: unknown; annotations?: unknown } }, b: { metadata: { labels?: unknown; annotations?: unknown } }): boolean {
  return same(a.metadata.labels ?? {}, b.metadata.labels ?? {}) && same(a.metadata.annotations ?? {}, b.metadata.annotations ?? {});
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
