// `knetlab curl`: real curl from inside the lab. With a count it sends that many requests, each on
// a new connection (so that, once Services exist, each is a new pass through kube-proxy's rules),
// and tallies who answered.
import { execa } from 'execa';
import type { Service } from '../api/types.js';
import { AgentClient, ApiStatusError } from '../client.js';
import { UsageError } from '../errors.js';
import { getPod, type Target } from './targets.js';

export interface CurlOutcome {
  url: string;
  answers: string[];
  exitCode: number;
  stderr: string;
}

/** Turns `svc/NAME[:PORT][/PATH]`, `pod/NAME[:PORT][/PATH]` or a URL into the URL to fetch. */
export async function resolveUrl(lab: string, what: string, namespace: string): Promise<string> {
  if (/^https?:\/\//.test(what)) return what;
  const svc = /^(?:svc|service|services)\/([a-z0-9-]+)(?::([a-z0-9-]+))?(\/.*)?$/.exec(what);
  if (svc) return serviceUrl(lab, namespace, svc[1]!, svc[2], svc[3]);
  const m = /^(?:pod|pods|po)\/([a-z0-9.-]+)(?::(\d+))?(\/.*)?$/.exec(what);
  if (!m) throw new UsageError(`cannot curl "${what}"`, { hint: 'give a URL (http://10.42.1.2:8080/hostname), svc/NAME[:PORT][/PATH] or pod/NAME[:PORT][/PATH]' });
  const [, name, port, path] = m;
  const pod = await getPod(lab, namespace, name!);
  const ip = pod.status?.podIP;
  if (!ip) throw new UsageError(`pod ${name} has no IP yet (it is ${pod.status?.phase ?? 'Pending'})`);
  const tcp = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => (p.protocol ?? 'TCP') === 'TCP');
  const chosen = port ?? tcp?.containerPort;
  if (!chosen) throw new UsageError(`pod ${name} declares no TCP port`, { hint: `name one: pod/${name}:PORT` });
  return `http://${ip}:${chosen}${path ?? '/'}`;
}

export async function curlFrom(from: Target, url: string, count: number): Promise<CurlOutcome> {
  const urls = Array.from({ length: count }, () => url);
  // Connection: close makes the server end each connection, so curl opens a new one per request.
  const r = await execa('ip', ['netns', 'exec', from.netns, 'curl', '-sS', '--max-time', '5', '-H', 'Connection: close', '-w', '\\n', ...urls], { reject: false });
  return { url, answers: r.stdout.split('\n').filter(Boolean), exitCode: r.exitCode ?? 1, stderr: r.stderr };
}

export function tally(answers: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** A Service's ClusterIP URL; the port is a number or a port name, by default the first TCP port. */
async function serviceUrl(lab: string, namespace: string, name: string, port: string | undefined, path: string | undefined): Promise<string> {
  let service: Service;
  try {
    service = await new AgentClient(lab).get<Service>(`/api/v1/namespaces/${namespace}/services/${name}`);
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 404) throw new UsageError(`service "${name}" not found in namespace "${namespace}"`, { hint: `\`knetlab get svc -n ${namespace}\` lists them` });
    throw err;
  }
  const ip = service.spec.clusterIP;
  if (!ip || ip === 'None') throw new UsageError(`service ${name} is headless: it has no ClusterIP`, { hint: 'curl one of its pods (pod/NAME), or its DNS name from a pod' });
  const ports = (service.spec.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  const chosen = port === undefined ? ports[0] : ports.find((p) => p.name === port || String(p.port) === port);
  if (!chosen) throw new UsageError(`service ${name} has no TCP port ${port ?? ''}`.trim(), { hint: `its ports: ${(service.spec.ports ?? []).map((p) => `${p.name ?? ''}${p.name ? ' ' : ''}${p.port}/${p.protocol ?? 'TCP'}`).join(', ')}` });
  return `http://${ip}:${chosen.port}${path ?? '/'}`;
}
