// The objects every k3s cluster has without anyone applying them, kept in line with the config:
// default/kubernetes (the apiserver's Service at service-cidr's first address, with the servers
// as its endpoints), CoreDNS behind kube-system/kube-dns at cluster-dns, and, when service-cidr
// moves, every Service's ClusterIP moved into the new range (names stay, addresses change).
import type { Deployment, Endpoints, Service } from '../api/types.js';
import type { LabConfig } from '../config/types.js';
import { contains, parseCidr } from '../ipam/cidr.js';
import { applyManifest } from './apply.js';
import { corednsDeployment, kubeDnsService } from './coredns.js';
import { kubernetesEndpoints, kubernetesService, type ServiceAllocations } from './services.js';
import type { Store } from './store.js';

export function ensureBuiltins(store: Store, services: ServiceAllocations, config: LabConfig, serverIPs: string[]): void {
  moveServicesInto(store, services, config);
  const kubernetes = kubernetesService(config);
  const existing = store.get<Service>('Service', 'default', 'kubernetes');
  if (JSON.stringify(existing?.spec) !== JSON.stringify(kubernetes.spec)) store.put(kubernetes);
  const endpoints = kubernetesEndpoints(serverIPs);
  const current = store.get<Endpoints>('Endpoints', 'default', 'kubernetes');
  if (JSON.stringify(current?.subsets) !== JSON.stringify(endpoints.subsets)) store.put(endpoints);

  const dns = store.get<Service>('Service', 'kube-system', 'kube-dns');
  if (dns && dns.spec.clusterIP !== config.clusterDNS) {
    services.release(dns);
    store.delete(dns);
  }
  if (!store.get<Service>('Service', 'kube-system', 'kube-dns')) applyManifest(store, services, kubeDnsService(config));
  if (!store.get<Deployment>('Deployment', 'kube-system', 'coredns')) applyManifest(store, services, corednsDeployment());
}

/** Services whose ClusterIP left service-cidr get a new one from it, as if created anew. */
function moveServicesInto(store: Store, services: ServiceAllocations, config: LabConfig): void {
  const range = parseCidr(config.serviceCIDR)!;
  for (const service of store.list<Service>('Service')) {
    const ip = service.spec.clusterIP;
    if (!ip || ip === 'None' || contains(range, ip)) continue;
    if (service.metadata.name === 'kubernetes' || service.metadata.name === 'kube-dns') continue; // rebuilt above
    const { clusterIP: _ip, clusterIPs: _ips, ...spec } = service.spec;
    services.release(service);
    store.put(services.allocate({ ...service, spec }, undefined));
  }
}
