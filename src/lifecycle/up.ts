// `knetlab up`: make the lab match the config, starting its agent if it is not running, then
// apply the manifests. Validation has already happened; from here on the kernel changes.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { LabConfig } from '../config/types.js';
import type { Manifest } from '../api/types.js';
import { AgentClient } from '../client.js';
import { labPaths } from '../agent/paths.js';
import type { ApplyResult } from '../agent/agent.js';
import { agentPid, startAgent } from './agent-process.js';
import { withLock } from './lock.js';
import type { LabStatus } from './status.js';

/** Runs `work` holding the lab's lock, so that two `up`s of one lab never interleave. */
export function withLabLock<T>(lab: string, work: () => Promise<T>): Promise<T> {
  const paths = labPaths(lab);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  return withLock(paths.lock, `lab "${lab}"`, work);
}

export interface EnsureResult {
  /** True when this run started the agent (a new lab, or one recovered after its agent died). */
  started: boolean;
  changes: string[];
}

/** Starts the lab's agent with this config, or hands the config to the running agent to converge to. */
export async function ensureLab(lab: string, config: LabConfig): Promise<EnsureResult> {
  const client = new AgentClient(lab);
  if (await client.alive()) {
    const { changes } = await client.put<{ changes: string[] }>('/apis/knetlab.io/v1/config', config);
    return { started: false, changes };
  }
  // An agent that holds the pid but does not answer is wedged: replace it.
  const wedged = agentPid(lab);
  if (wedged) process.kill(wedged, 'SIGKILL');
  writeFileSync(labPaths(lab).config, JSON.stringify(config, null, 2));
  await startAgent(lab);
  return { started: true, changes: ['started the agent'] };
}

export function applyObjects(lab: string, manifests: Manifest[]): Promise<ApplyResult[]> {
  return new AgentClient(lab).post<ApplyResult[]>('/apis/knetlab.io/v1/apply', { items: manifests });
}

export function labStatus(lab: string): Promise<LabStatus> {
  return new AgentClient(lab).get<LabStatus>('/apis/knetlab.io/v1/status');
}
