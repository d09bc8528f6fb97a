// Synthetic Services for the renderers' kernel round trips (iptables and nftables mode alike):
// `snapshot(n)` is n plain ClusterIP Services plus one of every other shape the renderers write.
import type { ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

/** Service `ns/svc<i>` port http, with `endpoints` ready endpoints spread over node-a and node-b. */
export function service(i: number, extra: Partial<ServiceSnapshot['service']> = {}, endpoints = 3): ServiceSnapshot {
  return {
    service: { namespace: 'ns', name: `svc${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster', ...extra },
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ ip: `10.42.${j}.${i & 255}`, port: 8080, ready: true, nodeName: j === 0 ? 'node-a' : 'node-b' })),
  };
}

/** n ClusterIP Services, then node ports, Local policy, affinity, UDP and a Service without endpoints. */
export function snapshot(n: number): ProxySnapshot {
  const services = Array.from({ length: n }, (_, i) => service(i + 1));
  services.push(service(n + 1, { nodePort: 30001 }));
  services.push(service(n + 2, { nodePort: 30002, externalTrafficPolicy: 'Local' }));
  services.push(service(n + 3, { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600 }));
  services.push(service(n + 4, { protocol: 'UDP', port: 53, portName: 'dns' }));
  services.push(service(n + 5, { nodePort: 30005 }, 0));
  return { services };
}
