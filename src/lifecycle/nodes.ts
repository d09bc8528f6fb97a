// `knetlab node add|delete`: nodes joining and leaving a running lab. The running config is
// changed and handed to the agent, which converges as for any `up`: other nodes keep their
// addresses and pod CIDRs, the new node gets free ones, and a deleted node's pods move elsewhere.
import type { LabConfig, NodeRole } from '../config/types.js';
import { AgentClient } from '../client.js';
import { UsageError } from '../errors.js';
import { labStatus } from './up.js';

const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

async function runningConfig(lab: string): Promise<LabConfig> {
  const status = await labStatus(lab);
  if (!status.config) throw new UsageError(`lab "${lab}" has no config yet`, { hint: 'run `knetlab up` first' });
  return status.config;
}

export async function addNode(lab: string, name: string, role: NodeRole, labels: Record<string, string>): Promise<string[]> {
  if (!NODE_NAME.test(name)) throw new UsageError(`"${name}" is not a valid node name`, { hint: 'node names are DNS-1123 labels: lower-case letters, digits and "-", e.g. agent-3' });
  const config = await runningConfig(lab);
  if (config.nodes.some((n) => n.name === name)) throw new UsageError(`lab "${lab}" already has a node "${name}"`);
  const next = { ...config, nodes: [...config.nodes, { name, role, labels }] };
  return (await new AgentClient(lab).put<{ changes: string[] }>('/apis/knetlab.io/v1/config', next)).changes;
}

export async function deleteNode(lab: string, name: string): Promise<string[]> {
  const config = await runningConfig(lab);
  const node = config.nodes.find((n) => n.name === name);
  if (!node) throw new UsageError(`lab "${lab}" has no node "${name}"`, { hint: `its nodes: ${config.nodes.map((n) => n.name).join(', ')}` });
  const rest = config.nodes.filter((n) => n !== node);
  if (!rest.some((n) => n.role === 'server')) throw new UsageError(`"${name}" is the lab's last server node`, { hint: 'add another server first: knetlab node add NAME --role server' });
  return (await new AgentClient(lab).put<{ changes: string[] }>('/apis/knetlab.io/v1/config', { ...config, nodes: rest })).changes;
}
