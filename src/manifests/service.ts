// A v1 Service as the lab reads it: its type (ClusterIP or NodePort), which pods it sends to
// (selector; a Service without one is allowed), its virtual IP (allocated, written by hand, or
// "None" for a headless Service), its ports, session affinity and traffic policies. Checked by the
// rules of Kubernetes' ValidateService, and normalised with the apiserver's defaults so that the
// rest of the lab, and `get -o json`, see what a real cluster would store. ClusterIP and nodePort
// ranges are checked by the agent, which knows service-cidr and service-node-port-range.
import * as z from 'zod';
import type { Service } from '../api/types.js';
import { isIPv4 } from '../ipam/cidr.js';
import { decode, isMapping } from './decode.js';
import { checkLabels, checkMetadata, namespacedMetadataSchema } from './metadata.js';
import { checkDNS1035Label } from './names.js';
import type { Path, Reporter } from './report.js';
import { checkServicePorts, servicePortSchema } from './service-ports.js';
import { SERVICE_SPEC_FIELDS, checkFieldNames, closestMatch } from './vocabulary.js';

// Enumerated fields are strings here and checked by checkServiceSpec, for better messages.
const serviceSchema = z.object({
  metadata: namespacedMetadataSchema,
  spec: z.object({
    type: z.string().default('ClusterIP'),
    selector: z.record(z.string(), z.string()).optional(),
    clusterIP: z.string().optional(),
    clusterIPs: z.array(z.string()).optional(),
    ports: z.array(servicePortSchema).optional(),
    sessionAffinity: z.string().default('None'),
    sessionAffinityConfig: z.object({ clientIP: z.object({ timeoutSeconds: z.int().optional() }).optional() }).optional(),
    externalTrafficPolicy: z.string().optional(),
    internalTrafficPolicy: z.string().default('Cluster'),
  }),
});

const SPEC: Path = ['spec'];
const ADD_REQUIRED = { spec: 'add a `spec:` section with `selector:` and `ports:`' };

const TYPES = ['ClusterIP', 'NodePort'];
const NOT_YET: Record<string, string> = {
  LoadBalancer: 'use `type: NodePort` and reach the Service on any node\'s IP at its nodePort (on k3s, ServiceLB builds a LoadBalancer the same way)',
  ExternalName: 'have clients use the external host name directly; an ExternalName Service only adds a DNS CNAME record for it',
};
const DEFAULT_AFFINITY_TIMEOUT = 10800; // three hours, as the apiserver defaults it
const MAX_AFFINITY_TIMEOUT = 86400; // one day

/** Returns the normalised Service, or undefined when the object has errors (all of them reported). */
export function validateService(object: Record<string, unknown>, report: Reporter): Service | undefined {
  const errorsBefore = report.errorCount;
  checkMetadata(object.metadata, report, { checkName: checkDNS1035Label, namespaced: true });
  if (isMapping(object.spec)) checkServiceSpec(object.spec, report);
  const decoded = decode(serviceSchema, object, [], report, ADD_REQUIRED);
  if (!decoded || report.errorCount !== errorsBefore) return undefined;
  return { apiVersion: 'v1', kind: 'Service', metadata: decoded.metadata, spec: normaliseSpec(decoded.spec) };
}

function checkServiceSpec(spec: Record<string, unknown>, report: Reporter): void {
  checkFieldNames(spec, SPEC, SERVICE_SPEC_FIELDS, 'a Service spec', report);
  const type = spec.type || 'ClusterIP'; // the apiserver defaults an empty type, affinity or policy too
  if (typeof type === 'string') checkType(type, report);
  const clusterIP = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : firstOf(spec.clusterIPs);
  const headless = clusterIP === 'None';
  if (typeof clusterIP === 'string') checkClusterIP(clusterIP, spec.clusterIP === clusterIP ? ['clusterIP'] : ['clusterIPs', 0], report);
  checkClusterIPs(spec.clusterIPs, clusterIP, report);
  if (headless && type === 'NodePort') {
    report.error([...SPEC, spec.clusterIP === 'None' ? 'clusterIP' : 'clusterIPs'], 'a headless Service (clusterIP: None) cannot be of type NodePort: it has no virtual IP for node ports to lead to', 'remove `clusterIP: None` to get a ClusterIP, or remove `type: NodePort`');
  }
  checkLabels(spec.selector, [...SPEC, 'selector'], report);
  checkServicePorts(spec.ports, { type: typeof type === 'string' ? type : 'ClusterIP', headless }, report);
  checkAffinity(spec, report);
  checkTrafficPolicies(spec, type === 'NodePort', report);
  if (Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0) {
    report.warn([...SPEC, 'externalIPs'], 'externalIPs are not supported by knetlab; ignored', 'use `type: NodePort` to reach the Service from outside the cluster', 'key');
  }
  if (Array.isArray(spec.ipFamilies) && spec.ipFamilies.some((family) => family !== 'IPv4')) {
    report.error([...SPEC, 'ipFamilies'], 'knetlab is IPv4-only', 'remove ipFamilies, or write `ipFamilies: [IPv4]`');
  }
}

function checkType(type: string, report: Reporter): void {
  if (TYPES.includes(type)) return;
  const path = [...SPEC, 'type'];
  const notYet = NOT_YET[type];
  if (notYet) {
    report.error(path, `type ${type} is not supported by knetlab yet`, notYet);
    return;
  }
  const guess = closestMatch(type, [...TYPES, ...Object.keys(NOT_YET)]);
  report.error(path, `${JSON.stringify(type)} is not a Service type`, guess ? `did you mean ${JSON.stringify(guess)}? (types are case-sensitive)` : 'use ClusterIP (the default) or NodePort');
}

function checkClusterIP(clusterIP: string, field: Path, report: Reporter): void {
  if (clusterIP === 'None' || isIPv4(clusterIP)) return;
  const fix = 'write an IPv4 address inside service-cidr (10.43.0.0/16 by default), `None` for a headless Service, or leave clusterIP out to have one allocated';
  if (clusterIP.includes(':')) report.error([...SPEC, ...field], `${JSON.stringify(clusterIP)} is an IPv6 address; knetlab is IPv4-only`, fix);
  else if (clusterIP.toLowerCase() === 'none') report.error([...SPEC, ...field], `${JSON.stringify(clusterIP)} must be written "None"`, 'write `clusterIP: None` for a headless Service');
  else report.error([...SPEC, ...field], `${JSON.stringify(clusterIP)} is not a valid IP address`, fix);
}

/** clusterIPs holds the same address as clusterIP, once: the lab has no dual-stack Services. */
function checkClusterIPs(clusterIPs: unknown, clusterIP: string | undefined, report: Reporter): void {
  if (!Array.isArray(clusterIPs) || clusterIPs.length === 0) return;
  const path = [...SPEC, 'clusterIPs'];
  if (clusterIPs.length > 1) {
    report.error([...path, 1], 'knetlab is IPv4-only: clusterIPs may hold one address', 'keep only the first address');
  }
  if (typeof clusterIPs[0] === 'string' && clusterIP !== undefined && clusterIPs[0] !== clusterIP) {
    report.error([...path, 0], `clusterIPs[0] must be the same as clusterIP (${clusterIP})`, 'write the same address in both, or leave clusterIPs out');
  }
}

function checkAffinity(spec: Record<string, unknown>, report: Reporter): void {
  const affinity = spec.sessionAffinity || 'None';
  if (typeof affinity === 'string' && affinity !== 'None' && affinity !== 'ClientIP') {
    const guess = closestMatch(affinity, ['None', 'ClientIP']);
    report.error([...SPEC, 'sessionAffinity'], `${JSON.stringify(affinity)} is not a session affinity`, guess ? `did you mean ${JSON.stringify(guess)}?` : 'use None (the default) or ClientIP');
  }
  const config = spec.sessionAffinityConfig;
  const clientIP = isMapping(config) ? config.clientIP : undefined;
  if (!isMapping(clientIP)) return;
  const path = [...SPEC, 'sessionAffinityConfig'];
  if (affinity !== 'ClientIP') {
    report.error(path, `sessionAffinityConfig may be set only when sessionAffinity is ClientIP, not ${JSON.stringify(affinity)}`, 'add `sessionAffinity: ClientIP`, or remove sessionAffinityConfig', 'key');
  }
  const timeout = clientIP.timeoutSeconds;
  if (typeof timeout === 'number' && Number.isInteger(timeout) && (timeout < 1 || timeout > MAX_AFFINITY_TIMEOUT)) {
    report.error([...path, 'clientIP', 'timeoutSeconds'], `timeoutSeconds must be between 1 and ${MAX_AFFINITY_TIMEOUT} (one day), not ${timeout}`, `write how long a client sticks to one pod, or leave it out for ${DEFAULT_AFFINITY_TIMEOUT} (three hours)`);
  }
}

function checkTrafficPolicies(spec: Record<string, unknown>, nodePort: boolean, report: Reporter): void {
  for (const field of ['externalTrafficPolicy', 'internalTrafficPolicy']) {
    const policy = spec[field];
    if (typeof policy === 'string' && policy !== '' && policy !== 'Cluster' && policy !== 'Local') {
      const guess = closestMatch(policy, ['Cluster', 'Local']);
      report.error([...SPEC, field], `${JSON.stringify(policy)} is not a traffic policy`, guess ? `did you mean ${JSON.stringify(guess)}?` : 'use Cluster (the default) or Local');
    }
  }
  const external = spec.externalTrafficPolicy;
  if (!nodePort && external !== undefined && external !== null && external !== '') {
    report.error([...SPEC, 'externalTrafficPolicy'], 'externalTrafficPolicy may only be set for externally-accessible services (type NodePort)', 'remove it, or add `type: NodePort`; for traffic from inside the cluster, internalTrafficPolicy chooses the endpoints', 'key');
  }
}

type DecodedSpec = z.output<typeof serviceSchema>['spec'];

/** The apiserver's defaults: clusterIP and clusterIPs agree, ClientIP affinity has a timeout, NodePorts a policy. */
function normaliseSpec(spec: DecodedSpec): Service['spec'] {
  const { type, selector, ports, sessionAffinity, externalTrafficPolicy, internalTrafficPolicy } = spec;
  const clusterIP = spec.clusterIP || spec.clusterIPs?.[0];
  const timeoutSeconds = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT;
  return {
    type: (type || 'ClusterIP') as 'ClusterIP' | 'NodePort',
    ...(selector ? { selector } : {}),
    ...(clusterIP ? { clusterIP, clusterIPs: [clusterIP] } : {}),
    ...(ports ? { ports } : {}),
    sessionAffinity: (sessionAffinity || 'None') as 'None' | 'ClientIP',
    ...(sessionAffinity === 'ClientIP' ? { sessionAffinityConfig: { clientIP: { timeoutSeconds } } } : {}),
    ...(type === 'NodePort' ? { externalTrafficPolicy: (externalTrafficPolicy || 'Cluster') as 'Cluster' | 'Local' } : {}),
    internalTrafficPolicy: (internalTrafficPolicy || 'Cluster') as 'Cluster' | 'Local',
  };
}

function firstOf(list: unknown): string | undefined {
  return Array.isArray(list) && typeof list[0] === 'string' ? list[0] : undefined;
}
