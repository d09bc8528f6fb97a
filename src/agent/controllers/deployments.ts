// The Deployment controller, folded with the ReplicaSet controller it drives: from a Deployment
// and the pods that exist, which pods to create and which to delete. Pure: the agent applies the
// plan. A changed template gets a new pod-template-hash, so its pods are replaced (as the
// Recreate strategy does); a deleted pod is simply missing next time, and a new one, with a new
// name and a new IP, takes its place.
import type { Deployment, Pod } from '../../api/types.js';
import { podTemplateHash, randomSuffix } from './names.js';
import { isPodReady } from './pod-state.js';

export interface DeploymentPlan {
  create: Pod[];
  remove: Pod[];
  status: NonNullable<Deployment['status']>;
}

/** The ReplicaSet that owns a Deployment's pods for one template: `NAME-HASH`. */
export function replicaSetName(deployment: Deployment): string {
  return `${deployment.metadata.name}-${podTemplateHash(deployment.spec.template)}`;
}

export function ownedBy(deployment: Deployment, pod: Pod): boolean {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  return owner?.kind === 'ReplicaSet' && owner.name.slice(0, owner.name.lastIndexOf('-')) === deployment.metadata.name;
}

export function planDeployment(deployment: Deployment, podsInNamespace: Pod[]): DeploymentPlan {
  const hash = podTemplateHash(deployment.spec.template);
  const owned = podsInNamespace.filter((p) => ownedBy(deployment, p));
  const current = owned.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
  const outdated = owned.filter((p) => !current.includes(p));
  const replicas = deployment.spec.replicas ?? 1;

  const taken = new Set(podsInNamespace.map((p) => p.metadata.name));
  const create: Pod[] = [];
  for (let i = current.length; i < replicas; i++) create.push(newPod(deployment, hash, taken));
  const surplus = current.length > replicas ? [...current].sort(deletionOrder).slice(0, current.length - replicas) : [];

  const ready = current.filter(isPodReady).length;
  return {
    create,
    remove: [...outdated, ...surplus],
    status: {
      replicas: owned.length,
      updatedReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: ready,
    },
  };
}

function newPod(deployment: Deployment, hash: string, taken: Set<string>): Pod {
  let name: string;
  do name = `${deployment.metadata.name}-${hash}-${randomSuffix()}`;
  while (taken.has(name));
  taken.add(name);
  const rs = `${deployment.metadata.name}-${hash}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${rs}-`,
      namespace: deployment.metadata.namespace ?? 'default',
      labels: { ...deployment.spec.template.metadata.labels, 'pod-template-hash': hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${deployment.metadata.uid}-${hash}`, controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(deployment.spec.template.spec),
    status: { phase: 'Pending' },
  };
}

/** Which pods go first on scale-down, as the ReplicaSet controller ranks them: not running, not ready, newest. */
function deletionOrder(a: Pod, b: Pod): number {
  const rank = (p: Pod) => (p.status?.phase !== 'Running' ? 0 : isPodReady(p) ? 2 : 1);
  return rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name);
}
