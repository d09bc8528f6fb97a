// What the agent did and why, as Kubernetes Events (`knetlab events`, `kubectl get events`): pods
// scheduled, started with their IP and stopped; endpoints changed; ClusterIPs and DNS names given
// and taken back; readiness lost and regained; and kube-proxy's syncs, per node, with their size
// and duration. Most are read off the store's changes (eventsForChange is pure); kube-proxy
// reports its syncs itself. The store keeps the newest few hundred.
import type { Deployment, Endpoints, Event, Pod, Service } from '../api/types.js';
import { isPodReady } from './controllers/pod-state.js';
import type { Store, StoredObject, WatchEventType } from './store.js';

const KEEP = 500;

export interface EventSpec {
  involved: { kind: string; namespace?: string; name: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  component: string;
  host?: string;
}

export class EventRecorder {
  private readonly kept: Event[] = [];
  private counter = 0;

  constructor(
    private readonly store: Store,
    private readonly domain: () => string,
  ) {}

  /** Starts turning the store's changes into events. */
  attach(): void {
    this.store.on('change', (type, object, previous) => {
      if (object.kind !== 'Event') for (const spec of eventsForChange(type, object, previous, this.domain())) this.record(spec);
    });
  }

  record(spec: EventSpec): void {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const event = this.store.put<Event>({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${spec.involved.name}.${(Date.now() * 1000 + this.counter++).toString(16)}`, namespace: spec.involved.namespace ?? 'default' },
      involvedObject: spec.involved,
      reason: spec.reason,
      message: spec.message,
      type: spec.type ?? 'Normal',
      source: { component: spec.component, ...(spec.host ? { host: spec.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    this.kept.push(event);
    if (this.kept.length > KEEP) this.store.delete(this.kept.shift()!);
  }
}

export function eventsForChange(type: WatchEventType, object: StoredObject, previous: StoredObject | undefined, domain: string): EventSpec[] {
  switch (object.kind) {
    case 'Pod':
      return podEvents(type, object, previous as Pod | undefined);
    case 'Endpoints':
      return endpointsEvents(type, object, previous as Endpoints | undefined);
    case 'Service':
      return serviceEvents(type, object, domain);
    case 'Deployment':
      return deploymentEvents(type, object, previous as Deployment | undefined);
    default:
      return [];
  }
}

function ref(o: StoredObject): EventSpec['involved'] {
  return { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
}

function podEvents(type: WatchEventType, pod: Pod, before: Pod | undefined): EventSpec[] {
  const at = ref(pod);
  const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
  const node = pod.spec.nodeName;
  const ip = pod.status?.podIP;
  if (type === 'DELETED') return [{ involved: at, reason: 'Killing', message: `Stopping pod${ip ? `; its IP ${ip} is released` : ''}`, component: 'kubelet', host: node }];
  const out: EventSpec[] = [];
  if (ip && !before?.status?.podIP) {
    out.push({ involved: at, reason: 'Scheduled', message: `Successfully assigned ${key} to ${node}`, component: 'default-scheduler' });
    out.push({ involved: at, reason: 'Started', message: `Sandbox ready on ${node}: eth0 ${ip}, a veth into cni0`, component: 'kubelet', host: node });
  }
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable && unschedulable.message !== before?.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message) {
    out.push({ involved: at, reason: 'FailedScheduling', message: unschedulable.message ?? 'not scheduled', type: 'Warning', component: 'default-scheduler' });
  }
  if (pod.status?.phase === 'Failed' && before?.status?.phase !== 'Failed') {
    out.push({ involved: at, reason: 'FailedCreatePodSandBox', message: pod.status.message ?? 'the pod could not start', type: 'Warning', component: 'kubelet', host: node });
  }
  if (before?.status?.podIP && ip === before.status.podIP && isPodReady(pod) !== isPodReady(before)) {
    out.push(
      isPodReady(pod)
        ? { involved: at, reason: 'Ready', message: 'Readiness probe succeeded: the pod is one of its Services\' endpoints again', component: 'kubelet', host: node }
        : { involved: at, reason: 'Unhealthy', message: 'Readiness probe failed: the pod leaves its Services\' endpoints', type: 'Warning', component: 'kubelet', host: node },
    );
  }
  return out;
}

function addresses(e: Endpoints | undefined, field: 'addresses' | 'notReadyAddresses'): string[] {
  return (e?.subsets ?? []).flatMap((s) => (s[field] ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip])));
}

function endpointsEvents(type: WatchEventType, e: Endpoints, before: Endpoints | undefined): EventSpec[] {
  if (type === 'DELETED') return [];
  const now = new Set(addresses(e, 'addresses'));
  const was = new Set(addresses(before, 'addresses'));
  const added = [...now].filter((a) => !was.has(a));
  const removed = [...was].filter((a) => !now.has(a));
  const notReady = addresses(e, 'notReadyAddresses');
  if (type === 'MODIFIED' && added.length === 0 && removed.length === 0) return [];
  const change = [...added.map((a) => `+${a}`), ...removed.map((a) => `-${a}`)].join(' ');
  const message = `${now.size ? `ready: ${[...now].join(', ')}` : 'no ready endpoints'}${notReady.length ? `; not ready: ${notReady.join(', ')}` : ''}${change ? ` (${change})` : ''}`;
  return [{ involved: ref(e), reason: 'EndpointsUpdated', message, component: 'endpoint-controller' }];
}

function serviceEvents(type: WatchEventType, s: Service, domain: string): EventSpec[] {
  if (type === 'MODIFIED') return [];
  const name = `${s.metadata.name}.${s.metadata.namespace ?? 'default'}.svc.${domain}`;
  const ip = s.spec.clusterIP;
  const headless = ip === 'None';
  if (type === 'DELETED') {
    return [{ involved: ref(s), reason: 'RecordsRemoved', message: `${name} no longer resolves${headless ? '' : `; ClusterIP ${ip} is released`}`, component: 'coredns' }];
  }
  return [
    { involved: ref(s), reason: headless ? 'Headless' : 'ClusterIPAllocated', message: headless ? 'No ClusterIP (clusterIP: None): the name resolves to the ready pods' : `ClusterIP ${ip} from service-cidr`, component: 'service-controller' },
    { involved: ref(s), reason: 'RecordsAdded', message: `${name} ${headless ? 'A: the ready endpoints' : `A ${ip}`}`, component: 'coredns' },
  ];
}

function deploymentEvents(type: WatchEventType, d: Deployment, before: Deployment | undefined): EventSpec[] {
  const replicas = d.spec.replicas ?? 1;
  if (type === 'DELETED' || (before && (before.spec.replicas ?? 1) === replicas)) return [];
  const was = before?.spec.replicas ?? 0;
  return [{ involved: ref(d), reason: 'ScalingReplicaSet', message: `Scaled ${replicas >= was ? 'up' : 'down'} to ${replicas} replicas`, component: 'deployment-controller' }];
}
