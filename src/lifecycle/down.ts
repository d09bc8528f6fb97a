// `knetlab down`: remove a lab completely. It works from the agent when it answers, and then,
// whatever the agent did or did not do, sweeps every namespace with the lab's prefix and the
// lab's state directory, so a crashed or killed lab leaves nothing behind either.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { labPaths, RUN_DIR } from '../agent/paths.js';
import { labPrefix, NETNS_ROOT_PREFIX } from '../dataplane/names.js';
import { renderNetnsDelete } from '../dataplane/render.js';
import { hostLinkName, renderHostAccessRemoval } from '../dataplane/host-access.js';
import { listNetns, runIpBatch } from '../kernel/ip.js';
import { stopAgent } from './agent-process.js';
import { withLock } from './lock.js';

export interface DownResult {
  lab: string;
  agentStopped: boolean;
  namespacesRemoved: number;
}

export async function downLab(lab: string): Promise<DownResult> {
  const paths = labPaths(lab);
  const work = async (): Promise<DownResult> => {
    const agentStopped = await stopAgent(lab);
    const prefix = labPrefix(lab);
    // host access, if the agent could not remove it (its name is the lab's own).
    if (existsSync(`/sys/class/net/${hostLinkName(lab)}`)) await runIpBatch(renderHostAccessRemoval(lab));
    const leftovers = listNetns().filter((n) => n.startsWith(prefix));
    if (leftovers.length) await runIpBatch({ ...renderNetnsDelete(leftovers), force: true });
    for (const name of existsSync('/etc/netns') ? readdirSync('/etc/netns') : []) {
      if (name.startsWith(prefix)) rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
    }
    return { lab, agentStopped, namespacesRemoved: leftovers.length };
  };
  const result = existsSync(paths.dir) ? await withLock(paths.lock, `lab "${lab}"`, work) : await work();
  rmSync(paths.dir, { recursive: true, force: true });
  return result;
}

/** Every lab this machine holds: those with a state directory and those that left namespaces only. */
export function knownLabs(): string[] {
  const labs = new Set(existsSync(RUN_DIR) ? readdirSync(RUN_DIR) : []);
  for (const ns of listNetns()) {
    if (ns.startsWith(NETNS_ROOT_PREFIX)) labs.add(ns.slice(NETNS_ROOT_PREFIX.length).split('.')[0]!);
  }
  return [...labs].sort();
}
