// The topology as a Mermaid flowchart: the LAN and the lan machine, one subgraph per node (its
// eth0/flannel.1, its cni0 bridge and its pods), one subgraph of Services, and an arrow from each
// Service to each of its ready endpoints labelled with the endpoint's ports. Every label is
// quoted and entity-escaped, every id comes from the model (letters, digits, "_"), so names and
// addresses can never break the syntax. Pure: model in, text out.
import type { NodeBox, PodBox, TopologyModel } from './model.js';
import { bridgeLines, lanLines, nodeLines, nodeTitle, podLines, serviceLines, servicesTitle } from './model.js';

/** Text safe inside a quoted Mermaid label: quotes, "#", "<", ">" and "&" as entity codes. */
export function escapeMermaid(text: string): string {
  return text.replace(/[#"<>&]/g, (c) => `#${c.charCodeAt(0)};`).replace(/[\r\n]+/g, ' ');
}

function label(lines: string[]): string {
  return `"${lines.map(escapeMermaid).join('<br/>')}"`;
}

function podShape(p: PodBox): string {
  return `${p.id}[${label(podLines(p))}]`;
}

function nodeBlock(n: NodeBox, out: string[]): void {
  out.push(`  subgraph ${n.groupId}[${label([nodeTitle(n)])}]`, '    direction TB');
  out.push(`    ${n.id}[${label(nodeLines(n))}]`);
  out.push(`    ${n.bridge.id}[/${label(bridgeLines(n))}/]`);
  for (const p of n.pods) out.push(`    ${podShape(p)}`);
  out.push(`    ${n.id} --- ${n.bridge.id}`);
  for (const p of n.pods) out.push(`    ${n.bridge.id} --- ${p.id}`);
  out.push('  end');
}

export function renderMermaid(m: TopologyModel): string {
  const out = [`%% knetlab graph of lab ${m.lab}${m.clusterCIDR ? `: cluster-cidr ${m.clusterCIDR}` : ''}${m.serviceCIDR ? `, service-cidr ${m.serviceCIDR}` : ''}`, 'flowchart LR'];
  out.push(`  ${m.lan.id}[(${label(lanLines(m))})]`);
  if (m.lan.machine) out.push(`  ${m.lan.machine.id}[${label(['lan machine', m.lan.machine.ip])}]`, `  ${m.lan.machine.id} --- ${m.lan.id}`);
  for (const n of m.nodes) {
    nodeBlock(n, out);
    out.push(`  ${m.lan.id} ---|${label([`${n.lanIf} ${n.ip}`])}| ${n.id}`);
  }
  if (m.unscheduled.length) {
    out.push(`  subgraph ${m.groups.unscheduled}[${label(['not on a node'])}]`);
    for (const p of m.unscheduled) out.push(`    ${podShape(p)}`);
    out.push('  end');
  }
  if (m.services.length) {
    out.push(`  subgraph ${m.groups.services}[${label([servicesTitle(m)])}]`, '    direction TB');
    for (const s of m.services) out.push(`    ${s.id}([${label(serviceLines(s))}])`);
    out.push('  end');
  }
  for (const x of m.externals) out.push(`  ${x.id}[${label(['endpoint', x.ip])}]`);
  for (const e of m.edges) out.push(`  ${e.from} -->|${label([e.ports.join(', ') || e.ip])}| ${e.to}`);
  const classes: [string, string, string[]][] = [
    ['knnode', 'fill:#eef3ff,stroke:#4a6fd1', m.nodes.map((n) => n.id)],
    ['knbridge', 'fill:#f4f4f4,stroke:#888', m.nodes.map((n) => n.bridge.id)],
    ['knpod', 'fill:#eaf7ea,stroke:#3c8c3c', [...m.nodes.flatMap((n) => n.pods), ...m.unscheduled].filter((p) => p.ready).map((p) => p.id)],
    ['knnotready', 'fill:#fff4e0,stroke:#d08a00,stroke-dasharray:4 3', [...m.nodes.flatMap((n) => n.pods), ...m.unscheduled].filter((p) => !p.ready).map((p) => p.id)],
    ['knsvc', 'fill:#fdf0f6,stroke:#b0407a', m.services.map((s) => s.id)],
  ];
  for (const [name, style, members] of classes) {
    out.push(`  classDef ${name} ${style}`);
    if (members.length) out.push(`  class ${members.join(',')} ${name}`);
  }
  return out.join('\n') + '\n';
}
