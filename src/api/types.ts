// The Kubernetes object shapes the lab stores and serves, trimmed to the fields it uses, so that
// `get -o json` prints what `kubectl get -o json` prints and real manifests apply unchanged.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generateName?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ContainerPort {
  containerPort: number;
  protocol?: 'TCP' | 'UDP';
  name?: string;
}

export interface HTTPGetAction {
  path?: string;
  port: number | string;
  scheme?: 'HTTP';
}

export interface Probe {
  httpGet?: HTTPGetAction;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
}

export interface PodSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  containers: Container[];
}

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready';
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: PodCondition[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  reason?: string;
  message?: string;
  containerStatuses?: {
    name: string;
    ready: boolean;
    restartCount: number;
    image: string;
    started?: boolean;
    state: { running?: { startedAt: string }; waiting?: { reason: string } };
  }[];
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
  status?: { phase: 'Active' | 'Terminating' };
}

export interface NodeAddress {
  type: 'InternalIP' | 'Hostname' | 'ExternalIP';
  address: string;
}

export interface Node {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: ObjectMeta;
  spec: { podCIDR: string; podCIDRs: string[] };
  status: {
    addresses: NodeAddress[];
    conditions: { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string; lastTransitionTime?: string }[];
    nodeInfo: {
      kubeletVersion: string;
      kubeProxyVersion: string;
      kernelVersion: string;
      osImage: string;
      operatingSystem: string;
      architecture: string;
      containerRuntimeVersion: string;
    };
  };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas?: number; // default 1
    selector: LabelSelector;
    template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
  };
}

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP'; // default TCP
  port: number;
  targetPort?: number | string; // default: port
  nodePort?: number;
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {
    type?: 'ClusterIP' | 'NodePort'; // default ClusterIP
    selector?: Record<string, string>;
    clusterIP?: string; // 'None' for headless
    clusterIPs?: string[];
    ports?: ServicePort[];
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
  };
  status?: { loadBalancer: Record<string, never> };
}

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef?: { kind: 'Pod'; namespace: string; name: string; uid?: string };
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[];
}

export interface Endpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: ObjectMeta;
  subsets?: EndpointSubset[];
}

export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta; // labels['kubernetes.io/service-name'] names the Service
  addressType: 'IPv4';
  endpoints: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; nodeName?: string }[];
  ports?: { name?: string; port?: number; protocol?: 'TCP' | 'UDP' }[];
}

/** core/v1 Event: what happened to an object, and which component says so. */
export interface Event {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: ObjectMeta;
  involvedObject: { kind: string; namespace?: string; name: string; uid?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

export type KubeObject = Pod | Namespace | Node | Deployment | Service | Endpoints | Event;

export interface List<T> {
  apiVersion: 'v1';
  kind: 'List';
  metadata: { resourceVersion: string };
  items: T[];
}

/** A manifest object as read from a file, before the lab fills in uid, status and defaults. */
export type Manifest = Pod | Namespace | Deployment | Service;

/** Objects `proxy render` reads besides Services: the endpoints kube-proxy is given. */
export type EndpointsManifest = Endpoints | EndpointSlice;
