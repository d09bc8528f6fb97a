// The Endpoints controller: a Service's endpoints are the running pods its selector matches,
// ready ones under `addresses` and the others under `notReadyAddresses` (terminating pods are in
// neither), each with the port its `targetPort` resolves to in that pod (a name is looked up among
// the pod's container ports, so pods may serve one Service on different numbers). Pure: the agent
// stores the result.
import type { EndpointAddress, EndpointSubset, Endpoints, Pod, Service, ServicePort } from '../../api/types.js';
import { matchesLabels } from './selectors.js';
import { isPodReady } from './pod-state.js';

/**
 * The pods that can be endpoints (running, with an IP, not terminating), in IP order, and what
 * each selector picks among them, worked out once per selector: at 1,000 Services over 100
 * Deployments a sync does 100 selections, not 1,000 (it was most of the agent's time per pod
 * deletion). Build one per sync: it does not follow later changes.
 */
export class EndpointCandidates {
  private readonly byNamespace = new Map<string, Pod[]>();
  private readonly selections = new Map<string, Pod[]>();

  constructor(pods: readonly Pod[]) {
    const candidates = pods
      .filter((p) => p.status?.podIP && p.status.phase === 'Running' && !p.metadata.deletionTimestamp)
      .sort((a, b) => compareIPs(a.status!.podIP!, b.status!.podIP!));
    for (const pod of candidates) {
      const namespace = pod.metadata.namespace ?? 'default';
      const list = this.byNamespace.get(namespace);
      if (list) list.push(pod);
      else this.byNamespace.set(namespace, [pod]);
    }
  }

  select(namespace: string, selector: Record<string, string>): Pod[] {
    const key = JSON.stringify([namespace, Object.entries(selector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
    let selected = this.selections.get(key);
    if (!selected) {
      selected = (this.byNamespace.get(namespace) ?? []).filter((p) => matchesLabels(selector, p.metadata.labels));
      this.selections.set(key, selected);
    }
    return selected;
  }
}

/** The endpoints of a Service with a selector; undefined for one without (its Endpoints are the user's). */
export function endpointsFor(service: Service, pods: readonly Pod[] | EndpointCandidates): Endpoints | undefined {
  const selector = service.spec.selector;
  if (!selector) return undefined;
  const namespace = service.metadata.namespace ?? 'default';
  const subsets = new Map<string, EndpointSubset>();
  const candidates = pods instanceof EndpointCandidates ? pods : new EndpointCandidates(pods);
  for (const pod of candidates.select(namespace, selector)) {
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
