// The Endpoints controller: a Service's endpoints are the running pods its selector matches,
// ready ones under `addresses` and the others under `notReadyAddresses` (terminating pods are in
// neither), each with the port its `targetPort` resolves to in that pod (a name is looked up among
// the pod's container ports, so pods may serve one Service on different numbers). Pure: the agent
// stores the result.
import type { EndpointAddress, EndpointSubset, Endpoints, Pod, Service, ServicePort } from '../../api/types.js';
import { matchesLabels } from './selectors.js';
import { isPodReady } from './pod-state.js';

/** The endpoints of a Service with a selector; undefined for one without (its Endpoints are the user's). */
export function endpointsFor(service: Service, pods: Pod[]): Endpoints | undefined {
  const selector = service.spec.selector;
  if (!selector) return undefined;
  const namespace = service.metadata.namespace ?? 'default';
  const subsets = new Map<string, EndpointSubset>();
  const selected = pods
    .filter((p) => (p.metadata.namespace ?? 'default') === namespace && p.status?.podIP && p.status.phase === 'Running' && !p.metadata.deletionTimestamp && matchesLabels(selector, p.metadata.labels))
    .sort((a, b) => compareIPs(a.status!.podIP!, b.status!.podIP!));
  for (const pod of selected) {
    const ports = (service.spec.ports ?? []).flatMap((sp) => {
      const port = resolveTargetPort(sp, pod);
      return port === undefined ? [] : [{ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP' }];
    });
    if (service.spec.ports?.length && ports.length === 0) continue;
    const key = JSON.stringify(ports);
    const subset = subsets.get(key) ?? { ports };
    const address: EndpointAddress = {
      ip: pod.status!.podIP!,
      nodeName: pod.spec.nodeName,
      targetRef: { kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    };
    if (isPodReady(pod)) (subset.addresses ??= []).push(address);
    else (subset.notReadyAddresses ??= []).push(address);
    subsets.set(key, subset);
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.metadata.name, namespace, labels: service.metadata.labels },
    ...(subsets.size ? { subsets: [...subsets.values()] } : {}),
  };
}

/** targetPort as a number, or a container port's name in this pod (undefined when it has none). */
export function resolveTargetPort(port: ServicePort, pod: Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  return pod.spec.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === target && (cp.protocol ?? 'TCP') === protocol)?.containerPort;
}

function compareIPs(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}
