// `get`'s tables, column for column as kubectl prints them for Pods, Nodes and Namespaces.
import type { Deployment, Endpoints, Event, Namespace, Node, Pod, Service } from '../api/types.js';
import { age, formatTable } from './table.js';

export type Wide = boolean;

export function podsTable(pods: Pod[], options: { wide: Wide; allNamespaces: boolean }): string {
  const headers = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  if (options.wide) headers.push('IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES');
  if (options.allNamespaces) headers.unshift('NAMESPACE');
  const rows = pods.map((p) => {
    const statuses = p.status?.containerStatuses ?? [];
    const ready = statuses.filter((s) => s.ready).length;
    const row = [p.metadata.name, `${ready}/${p.spec.containers.length}`, p.status?.reason ?? p.status?.phase ?? 'Pending', String(statuses.reduce((n, s) => n + s.restartCount, 0)), age(p.metadata.creationTimestamp)];
    if (options.wide) row.push(p.status?.podIP ?? '<none>', p.spec.nodeName ?? '<none>', '<none>', '<none>');
    if (options.allNamespaces) row.unshift(p.metadata.namespace ?? 'default');
    return row;
  });
  return formatTable(headers, rows);
}

export function nodesTable(nodes: Node[], options: { wide: Wide }): string {
  const headers = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'];
  if (options.wide) headers.push('INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME');
  const rows = nodes.map((n) => {
    const ready = n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True';
    const roles = Object.keys(n.metadata.labels ?? {})
      .filter((l) => l.startsWith('node-role.kubernetes.io/'))
      .map((l) => l.slice('node-role.kubernetes.io/'.length))
      .sort();
    const row = [n.metadata.name, ready ? 'Ready' : 'NotReady', roles.join(',') || '<none>', age(n.metadata.creationTimestamp), n.status.nodeInfo.kubeletVersion];
    if (options.wide) {
      const ip = (type: string) => n.status.addresses.find((a) => a.type === type)?.address ?? '<none>';
      row.push(ip('InternalIP'), ip('ExternalIP'), n.status.nodeInfo.osImage, n.status.nodeInfo.kernelVersion, n.status.nodeInfo.containerRuntimeVersion);
    }
    return row;
  });
  return formatTable(headers, rows);
}

export function namespacesTable(namespaces: Namespace[]): string {
  return formatTable(
    ['NAME', 'STATUS', 'AGE'],
    namespaces.map((n) => [n.metadata.name, n.status?.phase ?? 'Active', age(n.metadata.creationTimestamp)]),
  );
}

export function deploymentsTable(deployments: Deployment[], options: { wide: Wide; allNamespaces: boolean }): string {
  const headers = ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'];
  if (options.wide) headers.push('CONTAINERS', 'IMAGES', 'SELECTOR');
  if (options.allNamespaces) headers.unshift('NAMESPACE');
  const rows = deployments.map((d) => {
    const s = d.status ?? {};
    const row = [d.metadata.name, `${s.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`, String(s.updatedReplicas ?? 0), String(s.availableReplicas ?? 0), age(d.metadata.creationTimestamp)];
    if (options.wide) {
      const containers = d.spec.template.spec.containers;
      const selector = Object.entries(d.spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
      row.push(containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(','), selector.join(',') || '<none>');
    }
    if (options.allNamespaces) row.unshift(d.metadata.namespace ?? 'default');
    return row;
  });
  return formatTable(headers, rows);
}

export function servicesTable(services: Service[], options: { wide: Wide; allNamespaces: boolean }): string {
  const headers = ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'];
  if (options.wide) headers.push('SELECTOR');
  if (options.allNamespaces) headers.unshift('NAMESPACE');
  const rows = services.map((s) => {
    const ports = (s.spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
    const row = [s.metadata.name, s.spec.type ?? 'ClusterIP', s.spec.clusterIP ?? '<none>', '<none>', ports || '<none>', age(s.metadata.creationTimestamp)];
    if (options.wide) row.push(Object.entries(s.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>');
    if (options.allNamespaces) row.unshift(s.metadata.namespace ?? 'default');
    return row;
  });
  return formatTable(headers, rows);
}

/** kubectl's ENDPOINTS column: ready ip:port pairs, the first three, then "+ N more...". */
export function formatEndpointList(e: Endpoints, max = 3): string {
  const all = (e.subsets ?? []).flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip])));
  if (all.length === 0) return '<none>';
  return all.slice(0, max).join(',') + (all.length > max ? ` + ${all.length - max} more...` : '');
}

export function endpointsTable(endpoints: Endpoints[], options: { allNamespaces: boolean }): string {
  const headers = ['NAME', 'ENDPOINTS', 'AGE'];
  if (options.allNamespaces) headers.unshift('NAMESPACE');
  const rows = endpoints.map((e) => {
    const row = [e.metadata.name, formatEndpointList(e), age(e.metadata.creationTimestamp)];
    if (options.allNamespaces) row.unshift(e.metadata.namespace ?? 'default');
    return row;
  });
  return formatTable(headers, rows);
}

/** kubectl get events: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (oldest first). */
export function eventsTable(events: Event[], options: { allNamespaces: boolean }): string {
  const headers = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
  if (options.allNamespaces) headers.unshift('NAMESPACE');
  const rows = [...events]
    .sort((a, b) => a.lastTimestamp.localeCompare(b.lastTimestamp) || (a.metadata.resourceVersion ?? '').localeCompare(b.metadata.resourceVersion ?? '', undefined, { numeric: true }))
    .map((e) => {
      const row = [age(e.lastTimestamp), e.type, e.reason, `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}`, e.message];
      if (options.allNamespaces) row.unshift(e.metadata.namespace ?? 'default');
      return row;
    });
  return formatTable(headers, rows);
}
