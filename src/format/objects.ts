// `get`'s tables, column for column as kubectl prints them for Pods, Nodes and Namespaces.
import type { Namespace, Node, Pod } from '../api/types.js';
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
