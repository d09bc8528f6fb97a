// The topology as a Graphviz DOT digraph, the same picture as mermaid.ts: the LAN and the lan
// machine, one cluster per node (its eth0/flannel.1, its cni0 bridge and its pods), a cluster of
// Services, and an edge from each Service to each ready endpoint labelled with its ports. Every
// string is double-quoted with "\" and '"' escaped; `dot -Tsvg` turns it into a picture (svg.ts).
import type { NodeBox, PodBox, TopologyModel } from './model.js';
import { bridgeLines, lanLines, nodeLines, nodeTitle, podLines, serviceLines, servicesTitle } from './model.js';

/** A DOT double-quoted string: backslashes and quotes escaped, no raw line breaks. */
export function quoteDot(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

/** A multi-line label: each line escaped, joined with DOT's centred line break. */
function label(lines: string[]): string {
  return lines.map((l) => quoteDot(l).slice(1, -1)).join('\\n');
}

function attrs(a: Record<string, string>): string {
  return `[${Object.entries(a)
    .map(([k, v]) => `${k}=${k === 'label' ? `"${v}"` : quoteDot(v)}`)
    .join(', ')}]`;
}

function pod(p: PodBox, indent: string): string {
  const style = p.ready ? { style: 'rounded,filled', fillcolor: '#eaf7ea', color: '#3c8c3c' } : { style: 'rounded,filled,dashed', fillcolor: '#fff4e0', color: '#d08a00' };
  return `${indent}${p.id} ${attrs({ label: label(podLines(p)), ...style })};`;
}

function nodeCluster(n: NodeBox, out: string[]): void {
  out.push(`  subgraph cluster_${n.groupId} {`);
  out.push(`    graph ${attrs({ label: label([nodeTitle(n)]), style: 'rounded', color: '#4a6fd1' })};`);
  out.push(`    ${n.id} ${attrs({ label: label(nodeLines(n)), shape: 'box', style: 'filled', fillcolor: '#eef3ff', color: '#4a6fd1' })};`);
  out.push(`    ${n.bridge.id} ${attrs({ label: label(bridgeLines(n)), shape: 'parallelogram', style: 'filled', fillcolor: '#f4f4f4', color: '#888888' })};`);
  for (const p of n.pods) out.push(pod(p, '    '));
  out.push(`    ${n.id} -> ${n.bridge.id} [dir=none];`);
  for (const p of n.pods) out.push(`    ${n.bridge.id} -> ${p.id} [dir=none];`);
  out.push('  }');
}

export function renderDot(m: TopologyModel): string {
  const title = `knetlab lab ${m.lab}${m.clusterCIDR ? ` · cluster-cidr ${m.clusterCIDR}` : ''}${m.proxyMode ? ` · kube-proxy ${m.proxyMode}` : ''}`;
  const out = [`// knetlab graph of lab ${m.lab}; render with: dot -Tsvg -o lab.svg`, 'digraph knetlab {'];
  out.push(`  graph ${attrs({ label: label([title]), labelloc: 't', rankdir: 'LR', fontname: 'Helvetica', nodesep: '0.3', ranksep: '0.8' })};`);
  out.push(`  node ${attrs({ fontname: 'Helvetica', fontsize: '10', shape: 'box', style: 'rounded' })};`);
  out.push(`  edge ${attrs({ fontname: 'Helvetica', fontsize: '9' })};`);
  out.push(`  ${m.lan.id} ${attrs({ label: label(lanLines(m)), shape: 'cylinder', style: 'filled', fillcolor: '#f0f0f0' })};`);
  if (m.lan.machine) {
    out.push(`  ${m.lan.machine.id} ${attrs({ label: label(['lan machine', m.lan.machine.ip]) })};`);
    out.push(`  ${m.lan.machine.id} -> ${m.lan.id} [dir=none];`);
  }
  for (const n of m.nodes) {
    nodeCluster(n, out);
    out.push(`  ${m.lan.id} -> ${n.id} ${attrs({ label: label([`${n.lanIf} ${n.ip}`]), dir: 'none' })};`);
  }
  if (m.unscheduled.length) {
    out.push(`  subgraph cluster_${m.groups.unscheduled} {`, `    graph ${attrs({ label: label(['not on a node']), style: 'dashed' })};`);
    for (const p of m.unscheduled) out.push(pod(p, '    '));
    out.push('  }');
  }
  if (m.services.length) {
    out.push(`  subgraph cluster_${m.groups.services} {`, `    graph ${attrs({ label: label([servicesTitle(m)]), style: 'rounded,dashed', color: '#b0407a' })};`);
    for (const s of m.services) out.push(`    ${s.id} ${attrs({ label: label(serviceLines(s)), shape: 'ellipse', style: 'filled', fillcolor: '#fdf0f6', color: '#b0407a' })};`);
    out.push('  }');
  }
  for (const x of m.externals) out.push(`  ${x.id} ${attrs({ label: label(['endpoint', x.ip]), shape: 'box' })};`);
  for (const e of m.edges) out.push(`  ${e.from} -> ${e.to} ${attrs({ label: label([e.ports.join(', ') || e.ip]), color: '#b0407a' })};`);
  out.push('}');
  return out.join('\n') + '\n';
}
