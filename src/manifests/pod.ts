// A v1 Pod as the lab reads it: decoded to the fields the lab keeps (name, node placement,
// containers, their ports and readiness probes), and validated by the rules Kubernetes' ValidatePod
// applies to those fields, plus the lab's own limits (no SCTP, no host networking). The pod spec
// rules are shared with the pod template of a Deployment.
import * as z from 'zod';
import type { Pod } from '../api/types.js';
import { formatPath } from '../diagnostics.js';
import { decode, isMapping } from './decode.js';
import { checkLabels, checkMetadata, namespacedMetadataSchema, reportProblem } from './metadata.js';
import { checkDNS1123Label, checkDNS1123Subdomain, checkPortName } from './names.js';
import { checkReadinessProbe, probeTheLabRuns, readinessProbeSchema, type ProbePorts } from './probe.js';
import type { Path, Reporter } from './report.js';
import { CONTAINER_FIELDS, CONTAINER_PORT_FIELDS, POD_SPEC_FIELDS, checkFieldNames } from './vocabulary.js';

const strings = z.array(z.string());

const containerPortSchema = z.object({
  containerPort: z.int(),
  protocol: z.string().default('TCP'), // checked against TCP/UDP by checkPort
  name: z.string().optional(),
});

const containerSchema = z
  .object({
    name: z.string(),
    image: z.string(),
    args: strings.optional(),
    command: strings.optional(),
    ports: z.array(containerPortSchema).optional(),
    readinessProbe: readinessProbeSchema.optional(),
  })
  .transform(({ readinessProbe, ...container }) => {
    const probe = probeTheLabRuns(readinessProbe);
    return probe ? { ...container, readinessProbe: probe } : container;
  });

/** A pod's spec, and a Deployment's pod template's spec. */
export const podSpecSchema = z.object({
  nodeName: z.string().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  containers: z.array(containerSchema),
});

// apiVersion and kind were checked before the object came here.
const podSchema = z.object({
  metadata: namespacedMetadataSchema,
  spec: podSpecSchema,
});

/** Returns the normalised Pod, or undefined when the object has errors (all of them reported). */
export function validatePod(object: Record<string, unknown>, report: Reporter): Pod | undefined {
  const errorsBefore = report.errorCount;
  checkMetadata(object.metadata, report, { checkName: checkDNS1123Subdomain, namespaced: true });
  checkPodSpec(object.spec, ['spec'], 'a Pod spec', report);
  const decoded = decode(podSchema, object, [], report);
  if (!decoded || report.errorCount !== errorsBefore) return undefined;
  // The rules above have checked what the schema's types cannot say (protocol is TCP or UDP).
  return { apiVersion: 'v1', kind: 'Pod', ...decoded } as Pod;
}

/** What the ports seen so far in the pod are, to find names and port numbers used twice. */
interface PortsSeen {
  byName: Map<string, Path>;
  byNumber: Map<string, Path>;
}

/** Checks the pod spec at `path` (`spec`, or `spec.template.spec` in a Deployment); `what` names it in messages. */
export function checkPodSpec(spec: unknown, path: Path, what: string, report: Reporter): void {
  if (!isMapping(spec)) return;
  checkFieldNames(spec, path, POD_SPEC_FIELDS, what, report);
  if (typeof spec.nodeName === 'string') reportProblem(checkDNS1123Subdomain(spec.nodeName), [...path, 'nodeName'], report);
  checkLabels(spec.nodeSelector, [...path, 'nodeSelector'], report);
  if (spec.hostNetwork === true) {
    report.warn([...path, 'hostNetwork'], 'hostNetwork is not supported by knetlab; the pod gets its own network namespace and pod IP', 'remove it, or expect the pod IP rather than the node IP');
  }
  const { containers } = spec;
  if (!Array.isArray(containers)) return;
  if (containers.length === 0) {
    report.error([...path, 'containers'], 'a Pod needs at least one container', 'add a container with `- name: ...` and `image: ...`');
  }
  const containerNames = new Map<string, Path>();
  const ports: PortsSeen = { byName: new Map(), byNumber: new Map() };
  const tcp = podTCPPorts(containers);
  containers.forEach((container, i) => checkContainer(container, [...path, 'containers', i], containerNames, ports, tcp, report));
}

function checkContainer(container: unknown, path: Path, containerNames: Map<string, Path>, ports: PortsSeen, tcp: Set<number>, report: Reporter): void {
  if (!isMapping(container)) return;
  checkFieldNames(container, path, CONTAINER_FIELDS, 'a container', report);
  const { name, image } = container;
  if (typeof name === 'string') {
    reportProblem(checkDNS1123Label(name), [...path, 'name'], report);
    const first = containerNames.get(name);
    if (first) report.error([...path, 'name'], `container name ${JSON.stringify(name)} is already used by ${formatPath(first)}`, 'give each container of the pod its own name');
    else containerNames.set(name, path);
  }
  if (typeof image === 'string' && image.trim() === '') {
    report.error([...path, 'image'], 'image must not be empty', 'name an image, e.g. `image: nginx:1.27` (knetlab does not run it, but Kubernetes requires it)');
  } else if (typeof image === 'string' && image !== image.trim()) {
    report.error([...path, 'image'], `image ${JSON.stringify(image)} has leading or trailing spaces`, `write it as ${JSON.stringify(image.trim())}`);
  }
  if (Array.isArray(container.ports)) container.ports.forEach((port, i) => checkPort(port, [...path, 'ports', i], ports, report));
  const probePorts: ProbePorts = { byName: namedPorts(container.ports), tcp };
  checkReadinessProbe(container.readinessProbe, [...path, 'readinessProbe'], typeof name === 'string' ? name : '', probePorts, report);
}

/** The container's ports that have a name, as a probe can refer to them. */
function namedPorts(ports: unknown): ProbePorts['byName'] {
  const byName: ProbePorts['byName'] = new Map();
  for (const port of Array.isArray(ports) ? ports : []) {
    if (isMapping(port) && typeof port.name === 'string' && port.name !== '' && Number.isInteger(port.containerPort)) {
      byName.set(port.name, port.containerPort as number);
    }
  }
  return byName;
}

/** Every TCP containerPort of every container: the containers of a pod share one network namespace. */
function podTCPPorts(containers: unknown[]): Set<number> {
  const tcp = new Set<number>();
  for (const container of containers) {
    if (!isMapping(container)) continue;
    for (const port of Array.isArray(container.ports) ? container.ports : []) {
      if (isMapping(port) && Number.isInteger(port.containerPort) && (port.protocol ?? 'TCP') === 'TCP') tcp.add(port.containerPort as number);
    }
  }
  return tcp;
}

function checkPort(port: unknown, path: Path, seen: PortsSeen, report: Reporter): void {
  if (!isMapping(port)) return;
  checkFieldNames(port, path, CONTAINER_PORT_FIELDS, 'a container port', report);
  const { containerPort: number, name } = port;
  const protocol = port.protocol ?? 'TCP';
  if (Number.isInteger(number) && ((number as number) < 1 || (number as number) > 65535)) {
    report.error([...path, 'containerPort'], `${number} is not a port number`, 'use a port between 1 and 65535');
  }
  if (typeof protocol === 'string') checkProtocol(protocol, [...path, 'protocol'], report);
  if (typeof name === 'string' && name !== '') {
    reportProblem(checkPortName(name), [...path, 'name'], report);
    const first = seen.byName.get(name);
    if (first) report.error([...path, 'name'], `port name ${JSON.stringify(name)} is already used by ${formatPath(first)}`, 'give each port of the pod its own name');
    else seen.byName.set(name, path);
  }
  if (Number.isInteger(number) && typeof protocol === 'string') {
    const key = `${number}/${protocol}`;
    const first = seen.byNumber.get(key);
    if (first) {
      report.error([...path, 'containerPort'], `port ${key} is already declared at ${formatPath(first)}; the containers of a pod share one network namespace`, 'remove the duplicate or use another port');
    } else seen.byNumber.set(key, path);
  }
  if (port.hostPort !== undefined && port.hostPort !== null) {
    report.warn([...path, 'hostPort'], 'hostPort is not supported by knetlab; ignored', 'reach the pod through its pod IP or a NodePort Service');
  }
}

/** TCP or UDP, written in capitals: container ports and Service ports alike. */
export function checkProtocol(protocol: string, path: Path, report: Reporter): void {
  const upper = protocol.toUpperCase();
  if (protocol === 'TCP' || protocol === 'UDP') return;
  if (upper === 'SCTP') {
    report.error(path, 'protocol SCTP is not supported by knetlab', 'use TCP or UDP');
  } else if (upper === 'TCP' || upper === 'UDP') {
    report.error(path, `protocol ${JSON.stringify(protocol)} must be written in capitals`, `write ${JSON.stringify(upper)}`);
  } else {
    report.error(path, `protocol ${JSON.stringify(protocol)} is not supported`, 'use TCP or UDP (TCP when omitted)');
  }
}
