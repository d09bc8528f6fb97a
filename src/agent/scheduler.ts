// The scheduler, reduced to what a lab needs: honour nodeName and nodeSelector, then spread pods
// by putting each on the eligible node with the fewest pods (ties go to the earlier node).
import type { Pod } from '../api/types.js';

export interface SchedulableNode {
  name: string;
  labels: Record<string, string>;
  podCount: number;
}

export type Placement = { node: string } | { unschedulable: string };

export function schedulePod(pod: Pod, nodes: readonly SchedulableNode[]): Placement {
  const { nodeName, nodeSelector } = pod.spec;
  if (nodeName) {
    return nodes.some((n) => n.name === nodeName) ? { node: nodeName } : { unschedulable: `node "${nodeName}" does not exist` };
  }
  if (nodes.length === 0) return { unschedulable: 'no nodes available to schedule pods' };
  const selector = Object.entries(nodeSelector ?? {});
  const eligible = nodes.filter((n) => selector.every(([k, v]) => n.labels[k] === v));
  if (eligible.length === 0) {
    const wanted = selector.map(([k, v]) => `${k}=${v}`).join(',');
    return { unschedulable: `0/${nodes.length} nodes are available: ${nodes.length} node(s) didn't match Pod's node affinity/selector (${wanted})` };
  }
  const best = eligible.reduce((a, b) => (b.podCount < a.podCount ? b : a));
  return { node: best.name };
}
