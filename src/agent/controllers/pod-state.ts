// Small questions about a pod's status that several controllers ask.
import type { Pod } from '../../api/types.js';

export function isPodReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export function hasReadinessProbe(pod: Pod): boolean {
  return pod.spec.containers.some((c) => c.readinessProbe?.httpGet);
}
