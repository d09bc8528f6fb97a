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

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: ContainerPort[];
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

export type KubeObject = Pod | Namespace | Node;

export interface List<T> {
  apiVersion: 'v1';
  kind: 'List';
  metadata: { resourceVersion: string };
  items: T[];
}

/** A manifest object as read from a file, before the lab fills in uid, status and defaults. */
export type Manifest = Pod | Namespace;
