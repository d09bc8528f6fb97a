// What kube-proxy is given, turned into the renderer's ProxySnapshot: v1 Services plus their
// endpoints as v1 Endpoints or discovery.k8s.io/v1 EndpointSlices. The agent passes the objects of
// its store; `knetlab proxy render` passes objects read from YAML files, checked here with every
// problem tied to its file:line:col. Upstream counterparts: serviceToServiceMap
// (servicechangetracker.go) and the EndpointSlice cache (endpointslicecache.go).
import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments, type Tags } from 'yaml';
import * as z from 'zod';
import type { EndpointSlice, Endpoints, EndpointsManifest, Service } from '../api/types.js';
import { SourceMap, type Diagnostic } from '../diagnostics.js';
import { InvalidInputError, KnetlabError } from '../errors.js';
import { isIPv4 } from '../ipam/cidr.js';
import { decode, isMapping } from '../manifests/decode.js';
import { checkProtocol } from '../manifests/pod.js';
import { Reporter, type Path } from '../manifests/report.js';
import { validateService } from '../manifests/service.js';
import type { EndpointInfo, Protocol, ProxySnapshot, ServiceSnapshot } from './types.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One endpoint of one named port, before it is matched with the Service's ports. */
interface PortEndpoint extends EndpointInfo {
  portName: string;
  protocol: Protocol;
}

/**
 * Headless Services and Services without a ClusterIP get no rules (ShouldSkipService upstream);
 * a port without a nodePort gets no NodePort rules. Only ready endpoints will be used.
 */
export function snapshotFromObjects(services: readonly Service[], endpoints: readonly EndpointsManifest[]): ProxySnapshot {
  const byService = new Map<string, PortEndpoint[]>();
  for (const object of endpoints) {
    const name = object.kind === 'EndpointSlice' ? object.metadata.labels?.[SERVICE_NAME_LABEL] : object.metadata.name;
    if (!name) continue;
    const key = `${object.metadata.namespace ?? 'default'}/${name}`;
    byService.set(key, [...(byService.get(key) ?? []), ...(object.kind === 'EndpointSlice' ? sliceEndpoints(object) : endpointsEndpoints(object))]);
  }
  const out: ServiceSnapshot[] = [];
  for (const svc of services) {
    const { spec, metadata } = svc;
    const clusterIP = spec.clusterIP || spec.clusterIPs?.[0];
    if (!clusterIP || clusterIP === 'None') continue;
    const namespace = metadata.namespace ?? 'default';
    const found = byService.get(`${namespace}/${metadata.name}`) ?? [];
    for (const port of spec.ports ?? []) {
      const portName = port.name ?? '';
      const protocol = port.protocol ?? 'TCP';
      out.push({
        service: {
          namespace,
          name: metadata.name,
          portName,
          protocol,
          clusterIP,
          port: port.port,
          ...(spec.type === 'NodePort' && port.nodePort ? { nodePort: port.nodePort } : {}),
          sessionAffinity: spec.sessionAffinity ?? 'None',
          affinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
          externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster',
          internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
        },
        endpoints: found.filter((ep) => ep.portName === portName && ep.protocol === protocol).map(({ ip, port: p, ready, nodeName }) => ({ ip, port: p, ready, ...(nodeName ? { nodeName } : {}) })),
      });
    }
  }
  return { services: out };
}

function endpointsEndpoints(object: Endpoints): PortEndpoint[] {
  return (object.subsets ?? []).flatMap((subset) =>
    (subset.ports ?? []).flatMap((port) => {
      const base = { portName: port.name ?? '', protocol: port.protocol ?? 'TCP', port: port.port };
      const at = (ready: boolean) => (a: { ip: string; nodeName?: string }) => ({ ...base, ip: a.ip, ready, ...(a.nodeName ? { nodeName: a.nodeName } : {}) });
      return [...(subset.addresses ?? []).map(at(true)), ...(subset.notReadyAddresses ?? []).map(at(false))];
    }),
  );
}

/** Upstream uses each endpoint's first address; `ready` absent means ready. */
function sliceEndpoints(slice: EndpointSlice): PortEndpoint[] {
  if (slice.addressType !== 'IPv4') return [];
  return (slice.ports ?? []).flatMap((port) =>
    port.port === undefined
      ? []
      : slice.endpoints.flatMap((ep) => {
          const ip = ep.addresses[0];
          if (!ip) return [];
          return [{ portName: port.name ?? '', protocol: port.protocol ?? 'TCP', port: port.port!, ip, ready: ep.conditions?.ready ?? true, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}) }];
        }),
  );
}

// ---- Reading objects from files, for `knetlab proxy render` ----

export interface LoadedObjects {
  snapshot: ProxySnapshot;
  warnings: Diagnostic[];
}

/** Reads every file, then reports every problem of every file at once (InvalidInputError). */
export async function loadProxyObjects(files: readonly string[]): Promise<LoadedObjects> {
  const services: Service[] = [];
  const endpoints: EndpointsManifest[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((error: Error) => {
      throw new KnetlabError(`cannot read ${file}: ${error.message}`, { hint: 'check the path given to -f' });
    });
    const found = parseProxyObjects(text, file);
    services.push(...found.services);
    endpoints.push(...found.endpoints);
    diagnostics.push(...found.diagnostics);
  }
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InvalidInputError(errors);
  return { snapshot: snapshotFromObjects(services, endpoints), warnings: diagnostics };
}

/** kubectl's YAML 1.1, keeping timestamps as strings (as in src/manifests/parse.ts). */
const YAML_OPTIONS = {
  logLevel: 'error' as const,
  version: '1.1' as const,
  prettyErrors: false,
  customTags: (tags: Tags) => tags.filter((tag) => typeof tag === 'string' || (tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME')),
};

/** The Services, Endpoints and EndpointSlices of one multi-document YAML text, and its problems. */
export function parseProxyObjects(text: string, file: string): { services: Service[]; endpoints: EndpointsManifest[]; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const found = { services: [] as Service[], endpoints: [] as EndpointsManifest[], diagnostics: [] as Diagnostic[] };
  for (const doc of parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter })) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        found.diagnostics.push({ file, line, col, path: '', message: e.message, fix: 'fix the YAML syntax here', severity: 'error' });
      }
      continue;
    }
    readObject(doc.toJS(), Reporter.forDocument(new SourceMap(file, doc, lineCounter), doc, found.diagnostics), found);
  }
  found.diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  return found;
}

function readObject(value: unknown, report: Reporter, found: { services: Service[]; endpoints: EndpointsManifest[] }): void {
  if (value === null || value === undefined) return;
  if (!isMapping(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
    report.error([], 'expected a Kubernetes object with apiVersion and kind', 'write a mapping with apiVersion, kind, metadata and spec');
    return;
  }
  const { kind, apiVersion } = value;
  const expected = { Service: 'v1', Endpoints: 'v1', EndpointSlice: 'discovery.k8s.io/v1' }[kind];
  if (kind === 'List' && Array.isArray(value.items)) {
    value.items.forEach((item, i) => readObject(item, report.within(['items', i]), found));
  } else if (expected === undefined) {
    report.warn(['kind'], `${kind} is not read by proxy render; skipped`, 'proxy render reads v1 Service, v1 Endpoints and discovery.k8s.io/v1 EndpointSlice');
  } else if (apiVersion !== expected) {
    report.error(['apiVersion'], `${kind} belongs to apiVersion ${expected}, not ${JSON.stringify(apiVersion)}`, `write \`apiVersion: ${expected}\``);
  } else if (kind === 'Service') {
    const service = validateService(value, report);
    if (service) found.services.push(noteUnrendered(service, report));
  } else {
    const endpoints = kind === 'Endpoints' ? readEndpoints(value, report) : readEndpointSlice(value, report);
    if (endpoints) found.endpoints.push(endpoints);
  }
}

/** Warns of what kube-proxy writes no rules for, which in a file usually means a forgotten field. */
function noteUnrendered(service: Service, report: Reporter): Service {
  const { spec, metadata } = service;
  if (!spec.clusterIP) report.warn(['spec'], `Service ${metadata.name} has no clusterIP, so kube-proxy writes no rules for it`, 'write the address the apiserver allocated, e.g. `clusterIP: 10.43.0.20`', 'key');
  (spec.ports ?? []).forEach((port, i) => {
    if (spec.type === 'NodePort' && !port.nodePort) report.warn(['spec', 'ports', i], `port ${port.port} has no nodePort, so no NodePort rules are written for it`, 'write the allocated port, e.g. `nodePort: 30080`');
  });
  return service;
}

const metadataSchema = z.object({ name: z.string(), namespace: z.string().default('default'), labels: z.record(z.string(), z.string()).optional() });
const portSchema = z.object({ name: z.string().optional(), port: z.int(), protocol: z.string().default('TCP') });
const addressSchema = z.object({ ip: z.string(), nodeName: z.string().optional() });
const endpointsSchema = z.object({
  metadata: metadataSchema,
  subsets: z.array(z.object({ addresses: z.array(addressSchema).optional(), notReadyAddresses: z.array(addressSchema).optional(), ports: z.array(portSchema).optional() })).optional(),
});
const sliceSchema = z.object({
  metadata: metadataSchema,
  addressType: z.string(),
  endpoints: z.array(z.object({ addresses: z.array(z.string()).min(1), conditions: z.object({ ready: z.boolean().optional() }).optional(), nodeName: z.string().optional() })).default([]),
  ports: z.array(portSchema.extend({ port: z.int().optional() })).optional(),
});

// The checks beyond types run on the raw object, so that one run reports every problem.

function readEndpoints(value: Record<string, unknown>, report: Reporter): Endpoints | undefined {
  const errors = report.errorCount;
  const decoded = decode(endpointsSchema, value, [], report);
  items(value.subsets).forEach((subset, i) => {
    for (const field of ['addresses', 'notReadyAddresses']) items(subset[field]).forEach((a, j) => checkIP(a.ip, ['subsets', i, field, j, 'ip'], report));
    checkPorts(subset.ports, ['subsets', i, 'ports'], report);
  });
  return decoded && report.errorCount === errors ? ({ apiVersion: 'v1', kind: 'Endpoints', ...decoded } as Endpoints) : undefined;
}

function readEndpointSlice(value: Record<string, unknown>, report: Reporter): EndpointSlice | undefined {
  const errors = report.errorCount;
  const decoded = decode(sliceSchema, value, [], report);
  const labels = isMapping(value.metadata) ? value.metadata.labels : undefined;
  if (!isMapping(labels) || !labels[SERVICE_NAME_LABEL]) {
    report.error(['metadata'], `an EndpointSlice needs the label ${SERVICE_NAME_LABEL}, naming its Service`, `add \`labels: {${SERVICE_NAME_LABEL}: <service name>}\` under metadata`, 'key');
  }
  if (typeof value.addressType === 'string' && value.addressType !== 'IPv4') {
    report.warn(['addressType'], `addressType ${value.addressType}: knetlab is IPv4-only; this EndpointSlice is skipped`, 'use addressType: IPv4');
    return undefined;
  }
  items(value.endpoints).forEach((ep, i) => (Array.isArray(ep.addresses) ? ep.addresses : []).forEach((ip, j) => checkIP(ip, ['endpoints', i, 'addresses', j], report)));
  checkPorts(value.ports, ['ports'], report);
  return decoded && report.errorCount === errors ? ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', ...decoded, addressType: 'IPv4' } as EndpointSlice) : undefined;
}

/** The mappings of a list; anything else is the type check's to report. */
function items(list: unknown): Record<string, unknown>[] {
  return Array.isArray(list) ? list.filter(isMapping) : [];
}

function checkPorts(ports: unknown, path: Path, report: Reporter): void {
  items(ports).forEach((p, j) => {
    if (typeof p.protocol === 'string') checkProtocol(p.protocol, [...path, j, 'protocol'], report);
    if (Number.isInteger(p.port) && ((p.port as number) < 1 || (p.port as number) > 65535)) report.error([...path, j, 'port'], `${p.port} is not a port number`, 'use the port the pods listen on, between 1 and 65535');
  });
}

function checkIP(ip: unknown, path: Path, report: Reporter): void {
  if (typeof ip === 'string' && !isIPv4(ip)) report.error(path, `${JSON.stringify(ip)} is not an IPv4 address`, 'write the pod IP, e.g. 10.42.1.5');
}
