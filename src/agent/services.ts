// What the apiserver does when a Service is written: give it a ClusterIP from service-cidr and
// node ports from service-node-port-range (or check the ones it asks for), keep them stable
// across re-applies, and free them when the Service goes. Also the built-in default/kubernetes
// Service, which every cluster has at the first address of the range.
import type { Endpoints, Service, ServicePort } from '../api/types.js';
import type { LabConfig } from '../config/types.js';
import { ServiceIPAllocator, type ServiceIPState } from '../ipam/service-ips.js';
import { nth, parseCidr } from '../ipam/cidr.js';
import { NodePortAllocator } from '../ipam/node-ports.js';

export interface ServiceAllocationState {
  clusterIPs?: ServiceIPState;
  nodePorts?: { allocated: Record<string, string> };
}

export class ServiceAllocations {
  private clusterIPs: ServiceIPAllocator;
  private nodePorts: NodePortAllocator;

  constructor(config: LabConfig, saved: ServiceAllocationState = {}) {
    this.clusterIPs = newClusterIPs(config, saved.clusterIPs);
    this.nodePorts = new NodePortAllocator(config.serviceNodePortRange, saved.nodePorts);
  }

  /** On a config change the ranges may move; allocations that no longer fit are dropped. */
  reconfigure(config: LabConfig): void {
    this.clusterIPs = newClusterIPs(config, this.clusterIPs.state);
    this.nodePorts = new NodePortAllocator(config.serviceNodePortRange, this.nodePorts.state);
  }

  get state(): ServiceAllocationState {
    return { clusterIPs: this.clusterIPs.state, nodePorts: this.nodePorts.state };
  }

  /**
   * Fills in clusterIP and node ports for a Service being created or updated. Throws (with the
   * apiserver's wording) when a requested address or port cannot be had; nothing is allocated then.
   */
  allocate(service: Service, existing: Service | undefined): Service {
    const owner = `${service.metadata.namespace ?? 'default'}/${service.metadata.name}`;
    const spec = service.spec;
    const wanted = spec.clusterIP || undefined;
    if (existing && wanted && wanted !== existing.spec.clusterIP) {
      throw new Error(`Service "${service.metadata.name}" is invalid: spec.clusterIPs[0]: Invalid value: ["${wanted}"]: may not change once set`);
    }
    const undo: (() => void)[] = [];
    try {
      let clusterIP = existing?.spec.clusterIP ?? wanted;
      if (clusterIP !== 'None') {
        clusterIP = clusterIP ? this.clusterIPs.allocateSpecific(clusterIP, owner) : this.clusterIPs.allocate(owner);
        if (!existing) undo.push(() => this.clusterIPs.release(clusterIP!));
      }
      const type = spec.type ?? 'ClusterIP';
      // The Service's node ports are taken anew each time: its old ones are released first (and
      // taken back if this fails), so a kept port, a port shared by TCP and UDP, and a port moved
      // between two of the Service's ports all work.
      const previous = (existing?.spec.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : []));
      for (const port of previous) this.nodePorts.release(port);
      undo.push(() => previous.forEach((port) => this.nodePorts.allocateSpecific(port, `${owner}:${port}`)));
      const ports = (spec.ports ?? []).map((p): ServicePort => {
        if (type !== 'NodePort') return withoutNodePort(p);
        const kept = existing?.spec.ports?.find((e) => e.name === p.name && (e.protocol ?? 'TCP') === (p.protocol ?? 'TCP'))?.nodePort;
        const wantedPort = p.nodePort ?? kept;
        const nodePort = wantedPort ? this.nodePorts.allocateSpecific(wantedPort, `${owner}:${wantedPort}`) : this.nodePorts.allocate(`${owner}:${p.name ?? p.port}/${p.protocol ?? 'TCP'}`);
        undo.unshift(() => this.nodePorts.release(nodePort));
        return { ...p, nodePort };
      });
      return {
        ...service,
        spec: {
          ...spec,
          type,
          clusterIP,
          clusterIPs: [clusterIP!],
          ports,
          sessionAffinity: spec.sessionAffinity ?? 'None',
          ...(type === 'NodePort' ? { externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster' } : {}),
        },
        status: { loadBalancer: {} },
      };
    } catch (err) {
      for (const u of undo) u();
      const message = (err as Error).message;
      throw new Error(message.startsWith('Service "') ? message : `Service "${service.metadata.name}" is invalid: ${message}`);
    }
  }

  release(service: Service): void {
    if (service.spec.clusterIP && service.spec.clusterIP !== 'None') this.clusterIPs.release(service.spec.clusterIP);
    for (const p of service.spec.ports ?? []) if (p.nodePort) this.nodePorts.release(p.nodePort);
  }
}

function newClusterIPs(config: LabConfig, saved: ServiceIPState | undefined): ServiceIPAllocator {
  try {
    return new ServiceIPAllocator(config.serviceCIDR, config.clusterDNS, saved);
  } catch {
    return new ServiceIPAllocator(config.serviceCIDR, config.clusterDNS);
  }
}

function withoutNodePort(p: ServicePort): ServicePort {
  const { nodePort: _, ...rest } = p;
  return rest;
}

/** default/kubernetes: the apiserver's own Service, at the first address of service-cidr. */
export function kubernetesService(config: LabConfig): Service {
  const clusterIP = nth(parseCidr(config.serviceCIDR)!, 1);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }], sessionAffinity: 'None' },
    status: { loadBalancer: {} },
  };
}

/** Its endpoints: the servers' addresses on port 6443, where k3s's apiserver listens. */
export function kubernetesEndpoints(serverIPs: string[]): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: serverIPs.map((ip) => ({ ip })), ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
  };
}
