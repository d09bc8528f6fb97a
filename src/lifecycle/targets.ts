// Where `exec`, `shell` and `curl --from` run: a pod (`NAME` or `pod/NAME`), a node
// (`node/NAME`) or `lan`, the machine on the nodes' network outside the cluster. Each is a
// network namespace; `ip netns exec` runs a command there.
import { existsSync } from 'node:fs';
import type { Pod } from '../api/types.js';
import { AgentClient, ApiStatusError } from '../client.js';
import { UsageError } from '../errors.js';
import { lanNetns, nodeNetns } from '../dataplane/names.js';
import { netnsPath } from '../kernel/netns.js';
import { podNetns } from '../dataplane/names.js';

export interface Target {
  kind: 'pod' | 'node' | 'lan';
  name: string;
  netns: string;
  pod?: Pod;
}

export async function resolveTarget(lab: string, target: string, namespace = 'default'): Promise<Target> {
  const [kind, name] = target.includes('/') ? (target.split('/', 2) as [string, string]) : target === 'lan' ? ['lan', 'lan'] : ['pod', target];
  if (kind === 'lan') return checked({ kind: 'lan', name: 'lan', netns: lanNetns(lab) }, lab);
  if (kind === 'node' || kind === 'nodes' || kind === 'no') return checked({ kind: 'node', name, netns: nodeNetns(lab, name) }, lab);
  if (kind !== 'pod' && kind !== 'pods' && kind !== 'po') {
    throw new UsageError(`cannot run in "${target}"`, { hint: 'a target is POD, pod/POD, node/NODE or lan' });
  }
  const pod = await getPod(lab, namespace, name);
  return checked({ kind: 'pod', name, netns: podNetns(lab, namespace, name), pod }, lab);
}

export async function getPod(lab: string, namespace: string, name: string): Promise<Pod> {
  try {
    return await new AgentClient(lab).get<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`);
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 404) {
      throw new UsageError(`pod "${name}" not found in namespace "${namespace}"`, { hint: `\`knetlab get pods -n ${namespace}\` lists them` });
    }
    throw err;
  }
}

function checked(t: Target, lab: string): Target {
  if (!existsSync(netnsPath(t.netns))) {
    const why = t.kind === 'pod' ? `pod ${t.name} is ${t.pod?.status?.phase ?? 'not running'}` : `lab "${lab}" has no ${t.kind === 'lan' ? 'LAN' : `node "${t.name}"`}`;
    throw new UsageError(`${why} (no namespace ${t.netns})`, { hint: t.kind === 'node' ? '`knetlab get nodes` lists the nodes' : 'is the lab up? `knetlab status`' });
  }
  return t;
}
