// From what the user typed (`--from pod/web-1 --to svc/web:http`) to what runTrace needs: the
// sender's namespace and address, the destination IP:port, the Service's endpoints with their pod
// names, and the nodes to trace. It reads the lab through a LabView, which the CLI implements
// with the agent's API and the agent with its own store (view.ts), so the same code serves both.
import { existsSync } from 'node:fs';
import type { Endpoints, Pod, Service, ServicePort } from '../api/types.js';
import { lanNetns, nodeNetns, podNetns } from '../dataplane/names.js';
import { UsageError } from '../errors.js';
import { netnsPath } from '../kernel/netns.js';
import type { TraceDeps, TraceEndpoint, TraceNode, TraceProtocol, TraceRequest } from './types.js';

/** The body of POST /apis/knetlab.io/v1/trace: the command's arguments, unresolved. */
export interface TraceSpec {
  from: string;
  to: string;
  namespace?: string;
  protocol?: TraceProtocol;
}

export interface LabView {
  status(): Promise<{ lab: string; nodes: TraceNode[]; lan?: { ip: string } | undefined }>;
  get<T>(kind: 'Pod' | 'Service' | 'Endpoints', namespace: string, name: string): Promise<T | undefined>;
  listServices(): Promise<Service[]>;
}

export async function resolveTrace(view: LabView, spec: TraceSpec): Promise<{ deps: TraceDeps; request: TraceRequest }> {
  const namespace = spec.namespace ?? 'default';
  const status = await view.status();
  const nodes = status.nodes.map((n) => ({ name: n.name, netns: n.netns, ip: n.ip, ...(n.podCIDR ? { podCIDR: n.podCIDR } : {}) }));
  const from = await resolveSender(view, status.lab, nodes, status.lan, spec.from, namespace);
  const to = await resolveDestination(view, nodes, spec, namespace, from.target === 'lan');
  const request: TraceRequest = { from, to: { target: spec.to, ip: to.ip, port: to.port }, protocol: to.protocol, endpoints: to.endpoints };
  if (to.service) request.service = to.service;
  return { deps: { nodes }, request };
}

async function resolveSender(view: LabView, lab: string, nodes: TraceNode[], lan: { ip: string } | undefined, target: string, namespace: string): Promise<TraceRequest['from']> {
  const [kind, name] = target.includes('/') ? (target.split('/', 2) as [string, string]) : target === 'lan' ? ['lan', 'lan'] : ['pod', target];
  let from: TraceRequest['from'];
  if (kind === 'lan') {
    if (!lan) throw new UsageError(`lab "${lab}" has no LAN machine`);
    from = { target: 'lan', netns: lanNetns(lab), ip: lan.ip };
  } else if (['node', 'nodes', 'no'].includes(kind)) {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new UsageError(`lab "${lab}" has no node "${name}"`, { hint: `its nodes: ${nodes.map((n) => n.name).join(', ')}` });
    from = { target: `node/${name}`, netns: nodeNetns(lab, name), ip: node.ip };
  } else if (['pod', 'pods', 'po'].includes(kind)) {
    const pod = await view.get<Pod>('Pod', namespace, name);
    if (!pod) throw new UsageError(`pod "${name}" not found in namespace "${namespace}"`, { hint: `\`knetlab get pods -n ${namespace}\` lists them` });
    if (!pod.status?.podIP) throw new UsageError(`pod ${name} has no IP yet (it is ${pod.status?.phase ?? 'Pending'})`);
    from = { target: `pod/${name}`, netns: podNetns(lab, namespace, name), ip: pod.status.podIP };
  } else {
    throw new UsageError(`cannot send from "${target}"`, { hint: 'send from POD, pod/POD, node/NODE or lan' });
  }
  if (!existsSync(netnsPath(from.netns))) throw new UsageError(`${from.target} has no namespace ${from.netns}`, { hint: 'is the lab up? `knetlab status`' });
  return from;
}

interface Destination {
  ip: string;
  port: number;
  protocol: TraceProtocol;
  service?: string;
  endpoints: TraceEndpoint[];
}

async function resolveDestination(view: LabView, nodes: TraceNode[], spec: TraceSpec, namespace: string, fromLan: boolean): Promise<Destination> {
  const svc = /^(?:svc|service|services)\/([a-z0-9-]+)(?::([a-z0-9-]+))?$/.exec(spec.to);
  if (svc) {
    const service = await view.get<Service>('Service', namespace, svc[1]!);
    if (!service) throw new UsageError(`service "${svc[1]}" not found in namespace "${namespace}"`, { hint: `\`knetlab get svc -n ${namespace}\` lists them` });
    const port = pickPort(service, svc[2], spec.protocol);
    const ip = service.spec.clusterIP;
    if (!ip || ip === 'None') throw new UsageError(`service ${svc[1]} is headless: it has no ClusterIP to trace`, { hint: 'trace one of its pods: --to POD-IP:PORT' });
    const endpoints = await endpointsOf(view, service, port);
    const common = { protocol: protocolOf(port), service: servicePortName(service, port), endpoints };
    // The LAN has no route to the service CIDR: from there a Service is reached at a node's port.
    if (fromLan) {
      if (!port.nodePort) throw new UsageError(`the LAN cannot reach ClusterIP ${ip}, and service ${svc[1]} has no NodePort`, { hint: 'trace it from a pod or a node, or make it type: NodePort' });
      return { ...common, ip: nodes[0]!.ip, port: port.nodePort };
    }
    return { ...common, ip, port: port.port };
  }
  const addr = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(spec.to);
  if (!addr) throw new UsageError(`cannot trace to "${spec.to}"`, { hint: 'name svc/NAME[:PORT] or IP:PORT' });
  const [ip, port] = [addr[1]!, Number(addr[2])];
  // An IP:port that is a Service's ClusterIP port or a node's NodePort: name it, and find its endpoints.
  for (const service of await view.listServices()) {
    for (const p of service.spec.ports ?? []) {
      if (spec.protocol && protocolOf(p) !== spec.protocol) continue;
      const viaClusterIP = service.spec.clusterIP === ip && p.port === port;
      const viaNodePort = p.nodePort === port && nodes.some((n) => n.ip === ip);
      if (viaClusterIP || viaNodePort) {
        return { ip, port, protocol: protocolOf(p), service: servicePortName(service, p), endpoints: await endpointsOf(view, service, p) };
      }
    }
  }
  return { ip, port, protocol: spec.protocol ?? 'tcp', endpoints: [] };
}

function pickPort(service: Service, wanted: string | undefined, protocol: TraceProtocol | undefined): ServicePort {
  const ports = (service.spec.ports ?? []).filter((p) => !protocol || protocolOf(p) === protocol);
  const port = wanted === undefined ? ports[0] : ports.find((p) => p.name === wanted || String(p.port) === wanted);
  if (!port) {
    const all = (service.spec.ports ?? []).map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol ?? 'TCP'}`).join(', ');
    throw new UsageError(`service ${service.metadata.name} has no ${protocol ? `${protocol.toUpperCase()} ` : ''}port ${wanted ?? ''}`.trim(), { hint: `its ports: ${all || 'none'}` });
  }
  return port;
}

const protocolOf = (p: ServicePort): TraceProtocol => ((p.protocol ?? 'TCP') === 'UDP' ? 'udp' : 'tcp');

function servicePortName(service: Service, port: ServicePort): string {
  return `${service.metadata.namespace ?? 'default'}/${service.metadata.name}${port.name ? `:${port.name}` : ''}`;
}

/** The ready endpoints of one Service port, from its Endpoints object, with their pods' names. */
async function endpointsOf(view: LabView, service: Service, port: ServicePort): Promise<TraceEndpoint[]> {
  const eps = await view.get<Endpoints>('Endpoints', service.metadata.namespace ?? 'default', service.metadata.name);
  const out: TraceEndpoint[] = [];
  for (const subset of eps?.subsets ?? []) {
    const p = (subset.ports ?? []).find((sp) => (sp.name ?? '') === (port.name ?? '') && (sp.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
    if (!p) continue;
    for (const a of subset.addresses ?? []) {
      const e: TraceEndpoint = { ip: a.ip, port: p.port };
      if (a.targetRef?.name) e.pod = a.targetRef.name;
      if (a.targetRef?.namespace) e.namespace = a.targetRef.namespace;
      if (a.nodeName) e.node = a.nodeName;
      out.push(e);
    }
  }
  return out;
}
