// `describe`, in kubectl's layout: "Key: value" lines aligned in a column, nested blocks indented,
// so that a student can put knetlab's output next to a real cluster's.
import type { Endpoints, Node, Pod, Service } from '../api/types.js';
import { formatTable } from './table.js';

type Line = [key: string, value: string] | string;

function block(lines: Line[], indent = ''): string {
  const width = Math.max(...lines.filter((l): l is [string, string] => Array.isArray(l)).map(([k]) => k.length + 1), 0) + 1;
  return lines.map((l) => (Array.isArray(l) ? `${indent}${`${l[0]}:`.padEnd(width)}${l[1]}`.trimEnd() : `${indent}${l}`)).join('\n');
}

function labels(map: Record<string, string> | undefined, indent: number): string {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return '<none>';
  return entries.map(([k, v], i) => `${i ? ' '.repeat(indent) : ''}${k}=${v}`).join('\n');
}

export function describePod(pod: Pod): string {
  const s = pod.status;
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  const lines: Line[] = [
    ['Name', pod.metadata.name],
    ['Namespace', pod.metadata.namespace ?? 'default'],
    ['Node', pod.spec.nodeName ? `${pod.spec.nodeName}/${s?.hostIP ?? ''}` : '<none>'],
    ['Start Time', s?.startTime ?? '<unset>'],
    ['Labels', labels(pod.metadata.labels, 14)],
    ['Status', s?.reason ?? s?.phase ?? 'Pending'],
    ['IP', s?.podIP ?? ''],
    ['Controlled By', owner ? `${owner.kind}/${owner.name}` : '<none>'],
    'Containers:',
  ];
  for (const c of pod.spec.containers) {
    const st = s?.containerStatuses?.find((x) => x.name === c.name);
    lines.push(`  ${c.name}:`);
    const inner: Line[] = [
      ['Image', c.image],
      ['Port', (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}`).join(', ') || '<none>'],
      ['State', st?.state.running ? 'Running' : 'Waiting'],
      ['Ready', String(st?.ready ?? false)],
    ];
    const probe = c.readinessProbe?.httpGet;
    if (probe) {
      const r = c.readinessProbe!;
      inner.push(['Readiness', `http-get http://:${probe.port}${probe.path ?? '/'} delay=${r.initialDelaySeconds ?? 0}s timeout=${r.timeoutSeconds ?? 1}s period=${r.periodSeconds ?? 10}s #success=${r.successThreshold ?? 1} #failure=${r.failureThreshold ?? 3}`]);
    }
    lines.push(block(inner, '    '));
  }
  lines.push('Conditions:');
  lines.push(
    formatTable(['Type', 'Status'], (s?.conditions ?? []).map((c) => [c.type, c.status]))
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  if (s?.message) lines.push(['Message', s.message]);
  lines.push(['Events', '<none>']);
  return block(lines);
}

export function describeService(service: Service, endpoints: Endpoints | undefined): string {
  const spec = service.spec;
  const lines: Line[] = [
    ['Name', service.metadata.name],
    ['Namespace', service.metadata.namespace ?? 'default'],
    ['Labels', labels(service.metadata.labels, 19)],
    ['Selector', Object.entries(spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'],
    ['Type', spec.type ?? 'ClusterIP'],
    ['IP', spec.clusterIP ?? '<none>'],
  ];
  for (const p of spec.ports ?? []) {
    const name = p.name ?? '<unset>';
    lines.push(['Port', `${name}  ${p.port}/${p.protocol ?? 'TCP'}`], ['TargetPort', `${p.targetPort ?? p.port}/${p.protocol ?? 'TCP'}`]);
    if (p.nodePort) lines.push(['NodePort', `${name}  ${p.nodePort}/${p.protocol ?? 'TCP'}`]);
    const eps = (endpoints?.subsets ?? []).flatMap((sub) => {
      const port = sub.ports?.find((sp) => (sp.name ?? '') === (p.name ?? '') || (sub.ports?.length === 1 && !p.name));
      return port ? (sub.addresses ?? []).map((a) => `${a.ip}:${port.port}`) : [];
    });
    lines.push(['Endpoints', eps.join(',') || '<none>']);
  }
  lines.push(['Session Affinity', spec.sessionAffinity ?? 'None']);
  if (spec.type === 'NodePort') lines.push(['External Traffic Policy', spec.externalTrafficPolicy ?? 'Cluster']);
  lines.push(['Events', '<none>']);
  return block(lines);
}

export function describeNode(node: Node, pods: Pod[]): string {
  const lines: Line[] = [
    ['Name', node.metadata.name],
    ['Roles', Object.keys(node.metadata.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.split('/')[1]).join(',') || '<none>'],
    ['Labels', labels(node.metadata.labels, 20)],
    ['Annotations', labels(node.metadata.annotations, 20)],
    'Addresses:',
    block(node.status.addresses.map((a) => [a.type, a.address] as [string, string]), '  '),
    ['PodCIDR', node.spec.podCIDR],
    ['PodCIDRs', node.spec.podCIDRs.join(',')],
    `Non-terminated Pods:          (${pods.length} in total)`,
    formatTable(['Namespace', 'Name', 'IP'], pods.map((p) => [p.metadata.namespace ?? 'default', p.metadata.name, p.status?.podIP ?? '']))
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
    ['Events', '<none>'],
  ];
  return block(lines);
}
