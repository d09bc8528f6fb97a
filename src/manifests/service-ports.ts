// The ports of a v1 Service: what it listens on (port, protocol), where it sends the traffic
// (targetPort: a number, or the name of a container port, resolved pod by pod), and for a NodePort
// Service the port it opens on every node. Checked by the rules of Kubernetes' validateServicePort;
// the nodePort's range is the agent's to check, as it knows service-node-port-range.
import * as z from 'zod';
import { formatPath } from '../diagnostics.js';
import { isMapping } from './decode.js';
import { reportProblem } from './metadata.js';
import { checkDNS1123Label, checkPortName } from './names.js';
import { checkProtocol } from './pod.js';
import type { Path, Reporter } from './report.js';
import { SERVICE_PORT_FIELDS, checkFieldNames } from './vocabulary.js';

export const servicePortSchema = z
  .object({
    name: z.string().optional(),
    protocol: z.string().default('TCP'), // checked against TCP/UDP by checkProtocol
    port: z.int(),
    targetPort: z.unknown().optional(), // a number or a name: checked by checkTargetPort
    nodePort: z.int().optional(),
  })
  .transform(({ name, protocol, port, targetPort, nodePort }) => ({
    ...(name ? { name } : {}),
    protocol: protocol as 'TCP' | 'UDP',
    port,
    // The apiserver's defaulting: no targetPort (or 0, or "") means the same number as port.
    targetPort: targetPort === undefined || targetPort === 0 || targetPort === '' ? port : (targetPort as number | string),
    ...(nodePort ? { nodePort } : {}), // 0 means "allocate one", as on a real cluster
  }));

const PORTS: Path = ['spec', 'ports'];

/** What the rest of the Service says that its ports depend on. */
export interface PortContext {
  type: string;
  headless: boolean;
}

export function checkServicePorts(ports: unknown, context: PortContext, report: Reporter): void {
  if (ports !== undefined && ports !== null && !Array.isArray(ports)) return; // decoding reports the type
  const list = Array.isArray(ports) ? ports : [];
  // A headless Service may have no ports; an ExternalName one (reported as unsupported) needs none.
  if (list.length === 0 && !context.headless && context.type !== 'ExternalName') {
    report.error(PORTS, 'a Service needs at least one port', 'add `ports:` with e.g. `- port: 80` and `targetPort:` the container port (or its name)');
    return;
  }
  const names = new Map<string, Path>();
  const numbers = new Map<string, Path>();
  const nodePorts = new Map<string, Path>();
  list.forEach((port, i) => {
    if (!isMapping(port)) return;
    const path = [...PORTS, i];
    checkFieldNames(port, path, SERVICE_PORT_FIELDS, 'a Service port', report);
    checkName(port.name, path, list.length > 1, names, report);
    const protocol = port.protocol ?? 'TCP';
    if (typeof protocol === 'string') checkProtocol(protocol, [...path, 'protocol'], report);
    if (Number.isInteger(port.port)) {
      if (!isPortNumber(port.port as number)) report.error([...path, 'port'], `${port.port} is not a port number`, 'use a port between 1 and 65535');
      noteUnique(numbers, `${port.port}/${protocol}`, path, [...path, 'port'], 'port', report);
    }
    checkTargetPort(port.targetPort, [...path, 'targetPort'], report);
    checkNodePort(port.nodePort, [...path, 'nodePort'], context, report);
    if (Number.isInteger(port.nodePort) && port.nodePort !== 0) noteUnique(nodePorts, `${port.nodePort}/${protocol}`, path, [...path, 'nodePort'], 'nodePort', report);
  });
}

function checkName(name: unknown, path: Path, required: boolean, seen: Map<string, Path>, report: Reporter): void {
  if (name === undefined || name === null || name === '') {
    if (required) {
      report.error([...path, 'name'], 'a port name is required when a Service has more than one port', 'name each port, e.g. `name: http`; Endpoints and kube-proxy tell the ports apart by name');
    }
    return;
  }
  if (typeof name !== 'string') return; // decoding reports the type
  reportProblem(checkDNS1123Label(name), [...path, 'name'], report);
  const first = seen.get(name);
  if (first) report.error([...path, 'name'], `port name ${JSON.stringify(name)} is already used by ${formatPath(first)}`, 'give each port of the Service its own name');
  else seen.set(name, path);
}

/** `what` (a port or nodePort, with its protocol) may appear once per Service. */
function noteUnique(seen: Map<string, Path>, key: string, owner: Path, path: Path, what: string, report: Reporter): void {
  const first = seen.get(key);
  if (first) report.error(path, `${what} ${key} is already used by ${formatPath(first)}`, `give each port of the Service its own ${what} (the same number may serve TCP and UDP)`);
  else seen.set(key, owner);
}

/** targetPort: a port number, or the name of a container port (IANA_SVC_NAME), looked up in each pod. */
function checkTargetPort(target: unknown, path: Path, report: Reporter): void {
  if (target === undefined || target === null || target === 0 || target === '') return; // defaults to port
  if (typeof target === 'number' && Number.isInteger(target)) {
    if (!isPortNumber(target)) report.error(path, `${target} is not a port number`, 'use a port between 1 and 65535, or the name of a container port, e.g. http');
  } else if (typeof target === 'string' && /^\d+$/.test(target)) {
    report.error(path, `targetPort must be a number or a port name, not the string ${JSON.stringify(target)}`, `remove the quotes: ${target}`);
  } else if (typeof target === 'string') {
    reportProblem(checkPortName(target), path, report);
  } else {
    report.error(path, `targetPort must be a port number or a port name, not ${JSON.stringify(target)}`, 'write the container port, e.g. 8080, or its name, e.g. http');
  }
}

function checkNodePort(nodePort: unknown, path: Path, context: PortContext, report: Reporter): void {
  if (!Number.isInteger(nodePort) || nodePort === 0) return; // decoding reports the type; 0 means "allocate"
  if (context.type !== 'NodePort') {
    report.error(path, `nodePort may only be used when type is NodePort, and this Service is ${context.headless ? 'headless' : `of type ${context.type}`}`, 'add `type: NodePort` to the spec, or remove nodePort', 'key');
  } else if (!isPortNumber(nodePort as number)) {
    report.error(path, `${nodePort} is not a port number`, 'use a port in service-node-port-range (30000-32767 by default), or leave nodePort out to get a free one');
  }
}

function isPortNumber(port: number): boolean {
  return port >= 1 && port <= 65535;
}
