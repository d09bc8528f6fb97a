// A container's readinessProbe: what decides whether a pod is one of its Service's ready endpoints,
// which is what students watch come and go in kube-proxy's rules. The lab runs httpGet probes only
// (every pod answers GET /healthz); exec, tcpSocket and grpc probes are accepted with a warning and
// dropped, so such a pod is ready as soon as it runs. Defaults are the apiserver's, and as there a
// written 0 means "the default" (periodSeconds: 0 becomes 10).
import * as z from 'zod';
import type { Probe } from '../api/types.js';
import { isMapping } from './decode.js';
import { reportProblem } from './metadata.js';
import { checkPortName } from './names.js';
import type { Path, Reporter } from './report.js';
import { HTTP_GET_FIELDS, PROBE_FIELDS, PROBE_HANDLERS, checkFieldNames } from './vocabulary.js';

/** `value || fallback`: the apiserver's defaulting turns an absent or zero field into its default. */
const seconds = (fallback: number) =>
  z
    .int()
    .optional()
    .transform((value) => value || fallback);

export const readinessProbeSchema = z.object({
  httpGet: z
    .object({
      path: z
        .string()
        .optional()
        .transform((path) => path || '/'),
      port: z.unknown().transform((port) => port as number | string), // a number or a name: checked by checkPortRef
      scheme: z
        .string()
        .default('HTTP')
        .transform((scheme) => scheme as 'HTTP'), // anything else is reported by checkHTTPGet
    })
    .optional(),
  initialDelaySeconds: z.int().default(0),
  timeoutSeconds: seconds(1),
  periodSeconds: seconds(10),
  successThreshold: seconds(1),
  failureThreshold: seconds(3),
});

/** Keeps a probe the lab runs (httpGet); drops the others, which were reported as ignored. */
export function probeTheLabRuns(probe: z.output<typeof readinessProbeSchema> | undefined): Probe | undefined {
  return probe?.httpGet ? probe : undefined;
}

/** The ports a probe of one container may refer to. */
export interface ProbePorts {
  /** The container's own named ports: name -> number (a probe can name only these). */
  byName: Map<string, number>;
  /** Every TCP containerPort of the pod: the lab serves HTTP on these, and only these. */
  tcp: Set<number>;
}

export function checkReadinessProbe(probe: unknown, path: Path, container: string, ports: ProbePorts, report: Reporter): void {
  if (!isMapping(probe)) return; // decoding reports a mistyped probe
  checkFieldNames(probe, path, PROBE_FIELDS, 'a probe', report);
  const handlers = PROBE_HANDLERS.filter((handler) => probe[handler] !== undefined && probe[handler] !== null);
  if (handlers.length === 0) {
    report.error(path, 'a probe needs a handler; knetlab runs httpGet', 'add e.g. `httpGet: {path: /healthz, port: http}`');
  } else if (handlers.length > 1) {
    report.error([...path, handlers[1]!], `a probe has exactly one handler, but this one has ${handlers.join(' and ')}`, `keep one of them (knetlab runs httpGet)`, 'key');
  } else if (handlers[0] !== 'httpGet') {
    report.warn([...path, handlers[0]!], `${handlers[0] === 'exec' ? 'an' : 'a'} ${handlers[0]} probe is ignored by knetlab; the pod counts as ready as soon as it runs`, 'use `httpGet:` to see readiness in the lab (every pod answers GET /healthz)', 'key');
  } else {
    checkHTTPGet(probe.httpGet, [...path, 'httpGet'], container, ports, report);
  }
  for (const field of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    const value = probe[field];
    if (typeof value === 'number' && Number.isInteger(value) && value < 0) {
      report.error([...path, field], `${field} must not be negative, but is ${value}`, 'write 0 or more; 0 (or leaving it out) means the default');
    }
  }
  if (probe.terminationGracePeriodSeconds !== undefined && probe.terminationGracePeriodSeconds !== null) {
    report.error([...path, 'terminationGracePeriodSeconds'], 'terminationGracePeriodSeconds must not be set on a readinessProbe', 'remove it; it belongs to liveness and startup probes', 'key');
  }
}

function checkHTTPGet(action: unknown, path: Path, container: string, ports: ProbePorts, report: Reporter): void {
  if (!isMapping(action)) {
    report.error(path, 'httpGet must be a mapping with `path:` and `port:`', 'write e.g. `httpGet: {path: /healthz, port: http}`');
    return;
  }
  checkFieldNames(action, path, HTTP_GET_FIELDS, 'an httpGet probe', report);
  checkPortRef(action.port, [...path, 'port'], container, ports, report);
  const { scheme, host } = action;
  if (scheme === 'HTTPS') {
    report.error([...path, 'scheme'], 'scheme HTTPS is not supported by knetlab: pods in the lab serve plain HTTP', 'remove scheme, or write `scheme: HTTP`');
  } else if (scheme !== undefined && scheme !== null && scheme !== 'HTTP') {
    report.error([...path, 'scheme'], `scheme ${JSON.stringify(scheme)} is not a probe scheme`, 'remove it, or write `scheme: HTTP` (the default)');
  }
  if (typeof host === 'string' && host !== '') {
    report.warn([...path, 'host'], 'httpGet.host is ignored by knetlab; the probe always goes to the pod IP', 'remove host');
  }
}

/** A probe's port: a number, or the name of one of the container's own ports. */
function checkPortRef(port: unknown, path: Path, container: string, ports: ProbePorts, report: Reporter): void {
  let number: number;
  if (port === undefined || port === null) {
    report.error(path, 'port is required', 'add `port:` with a port number or the name of one of the container\'s ports, e.g. `port: http`');
    return;
  } else if (typeof port === 'number' && Number.isInteger(port)) {
    if (port < 1 || port > 65535) {
      report.error(path, `${port} is not a port number`, 'use a port between 1 and 65535, or the name of a container port');
      return;
    }
    number = port;
  } else if (typeof port === 'string' && /^\d+$/.test(port)) {
    report.error(path, `port must be a number or a port name, not the string ${JSON.stringify(port)}`, `remove the quotes: ${port}`);
    return;
  } else if (typeof port === 'string') {
    const problem = checkPortName(port);
    if (problem) {
      reportProblem(problem, path, report);
      return;
    }
    const named = ports.byName.get(port);
    if (named === undefined) {
      const names = [...ports.byName.keys()];
      const known = names.length > 0 ? `its named ports are ${names.map((n) => JSON.stringify(n)).join(', ')}` : 'it has no named ports';
      report.error(path, `container ${JSON.stringify(container)} has no port named ${JSON.stringify(port)}; ${known}`, 'name one of the container\'s ports, add `name:` to the port under `ports:`, or write the port number');
      return;
    }
    number = named;
  } else {
    report.error(path, `port must be a port number or a port name, not ${JSON.stringify(port)}`, 'write a number, e.g. 8080, or the name of a container port, e.g. http');
    return;
  }
  if (!ports.tcp.has(number)) {
    report.warn(path, `port ${number} is not a TCP containerPort of the pod; knetlab serves HTTP only on those, so this probe will fail and the pod never become ready`, 'probe one of the pod\'s TCP containerPorts, or declare this port under `ports:`');
  }
}
