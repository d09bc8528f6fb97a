// What kube-proxy needs to know to write a node's rules: the services' ports and their endpoints,
// as plain data. The agent builds a snapshot from its objects, `proxy render` from a file; the
// renderer does not care which.

export type Protocol = 'TCP' | 'UDP';

/** One port of one Service: kube-proxy's ServicePortName plus what it needs of the spec. */
export interface ServicePortInfo {
  namespace: string;
  name: string; // the Service's name
  portName: string; // '' when the port is unnamed
  protocol: Protocol;
  clusterIP: string; // headless services are not in the snapshot
  port: number;
  nodePort?: number; // for type NodePort
  sessionAffinity: 'None' | 'ClientIP';
  affinityTimeoutSeconds: number; // default 10800
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** spec.internalTrafficPolicy; absent means Cluster. */
  internalTrafficPolicy?: 'Cluster' | 'Local';
}

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  /** Node the endpoint's pod runs on; used for externalTrafficPolicy: Local. */
  nodeName?: string;
}

export interface ServiceSnapshot {
  service: ServicePortInfo;
  endpoints: EndpointInfo[];
}

export interface ProxySnapshot {
  services: ServiceSnapshot[];
}

/** The node the rules are written for. */
export interface NodeContext {
  nodeName: string;
  nodeIPs: string[];
  clusterCIDR: string;
}
