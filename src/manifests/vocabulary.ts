// The names Kubernetes defines (object kinds and the fields of the structs the lab reads), so that a
// valid manifest is never rejected for a field the lab merely ignores, while a misspelling such as
// `metdata` or `containerport` is caught with a did-you-mean instead of being silently dropped.
import { editDistance } from '../config/suggest.js';
import type { Reporter, Path } from './report.js';

/** Every Kubernetes object has exactly these top-level fields. */
export const OBJECT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

export const OBJECT_META_FIELDS = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
  'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations',
  'ownerReferences', 'finalizers', 'managedFields',
];

export const POD_SPEC_FIELDS = [
  'volumes', 'initContainers', 'containers', 'ephemeralContainers', 'restartPolicy',
  'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector',
  'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken', 'nodeName', 'hostNetwork',
  'hostPID', 'hostIPC', 'shareProcessNamespace', 'securityContext', 'imagePullSecrets', 'hostname',
  'subdomain', 'affinity', 'schedulerName', 'tolerations', 'hostAliases', 'priorityClassName',
  'priority', 'dnsConfig', 'readinessGates', 'runtimeClassName', 'enableServiceLinks',
  'preemptionPolicy', 'overhead', 'topologySpreadConstraints', 'setHostnameAsFQDN', 'os', 'hostUsers',
  'schedulingGates', 'resourceClaims', 'resources',
];

export const CONTAINER_FIELDS = [
  'name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources',
  'resizePolicy', 'restartPolicy', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe',
  'startupProbe', 'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy',
  'securityContext', 'stdin', 'stdinOnce', 'tty',
];

export const CONTAINER_PORT_FIELDS = ['containerPort', 'hostPort', 'hostIP', 'name', 'protocol'];

export const NAMESPACE_SPEC_FIELDS = ['finalizers'];

export const PROBE_FIELDS = [
  'exec', 'httpGet', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'timeoutSeconds', 'periodSeconds',
  'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds',
];

/** The ways a probe can check a container; a probe has exactly one. */
export const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

export const HTTP_GET_FIELDS = ['path', 'port', 'host', 'scheme', 'httpHeaders'];

export const DEPLOYMENT_SPEC_FIELDS = [
  'replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused',
  'progressDeadlineSeconds',
];

export const POD_TEMPLATE_FIELDS = ['metadata', 'spec'];

export const LABEL_SELECTOR_FIELDS = ['matchLabels', 'matchExpressions'];

export const SELECTOR_REQUIREMENT_FIELDS = ['key', 'operator', 'values'];

export const SERVICE_SPEC_FIELDS = [
  'ports', 'selector', 'clusterIP', 'clusterIPs', 'type', 'externalIPs', 'sessionAffinity',
  'loadBalancerIP', 'loadBalancerSourceRanges', 'externalName', 'externalTrafficPolicy',
  'healthCheckNodePort', 'publishNotReadyAddresses', 'sessionAffinityConfig', 'ipFamilies',
  'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'internalTrafficPolicy',
  'trafficDistribution',
];

export const SERVICE_PORT_FIELDS = ['name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'];

/** Built-in kinds a manifest commonly carries, used to tell a typo from a kind the lab skips. */
export const KNOWN_KINDS = [
  'Pod', 'Namespace', 'Service', 'Endpoints', 'EndpointSlice', 'Deployment', 'ReplicaSet',
  'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ConfigMap', 'Secret', 'ServiceAccount', 'Node',
  'Ingress', 'IngressClass', 'NetworkPolicy', 'PersistentVolume', 'PersistentVolumeClaim',
  'StorageClass', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'LimitRange',
  'ResourceQuota', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'PriorityClass', 'Lease',
  'CustomResourceDefinition', 'List',
];

/**
 * The candidate a word is most likely a misspelling of: equal ignoring case, or within a small
 * edit distance (one edit for short words, two for longer ones). Undefined when nothing is close.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const caseOnly = candidates.find((c) => c.toLowerCase() === lower);
  if (caseOnly) return caseOnly;
  const allowed = word.length <= 4 ? 1 : 2;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= allowed && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/**
 * Reports the keys of `object` that are not in `known`. Where every possible field is known (the
 * top level of an object) an unknown key is an error; elsewhere only a likely misspelling is, and
 * any other unknown key is a warning, because Kubernetes may have grown a field this list lacks.
 */
export function checkFieldNames(object: Record<string, unknown>, path: Path, known: readonly string[], what: string, report: Reporter, options: { exhaustive?: boolean } = {}): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const guess = closestMatch(key, known);
    if (guess) {
      report.error([...path, key], `unknown field ${JSON.stringify(key)} in ${what}`, `did you mean ${JSON.stringify(guess)}?`, 'key');
    } else if (options.exhaustive) {
      report.error([...path, key], `unknown field ${JSON.stringify(key)} in ${what}`, `remove it; the fields of ${what} are ${known.join(', ')}`, 'key');
    } else {
      report.warn([...path, key], `unknown field ${JSON.stringify(key)} in ${what}; ignored`, 'check its spelling against the Kubernetes API reference', 'key');
    }
  }
}
