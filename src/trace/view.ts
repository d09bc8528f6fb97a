// The two ways to read a lab for a trace (see resolve.ts): from outside, through the agent's API
// (the CLI, or the detached helper it starts), and from inside the agent, through its own object
// store. `traceInLab` is what both the helper and the agent's trace route call.
import type { Service } from '../api/types.js';
import { AgentClient, ApiStatusError } from '../client.js';
import { labStatus } from '../lifecycle/up.js';
import { resolveTrace, type LabView, type TraceSpec } from './resolve.js';
import { runTrace, type TraceOutcome } from './run.js';
import type { TraceNode } from './types.js';

const PATHS = { Pod: 'pods', Service: 'services', Endpoints: 'endpoints' } as const;

/** The lab as the agent's API shows it. */
export function cliLabView(lab: string): LabView {
  const client = new AgentClient(lab);
  return {
    async status() {
      const s = await labStatus(lab);
      return { lab: s.lab, nodes: s.nodes, lan: s.lan };
    },
    async get<T>(kind: keyof typeof PATHS, namespace: string, name: string) {
      try {
        return await client.get<T>(`/api/v1/namespaces/${namespace}/${PATHS[kind]}/${name}`);
      } catch (err) {
        if (err instanceof ApiStatusError && err.code === 404) return undefined;
        throw err;
      }
    },
    async listServices() {
      return (await client.get<{ items: Service[] }>('/api/v1/services')).items;
    },
  };
}

/**
 * What the agent must offer for its own view: the methods its API routes already call. Typed by
 * shape, so this file needs nothing from the agent's internals.
 */
export interface AgentLike {
  getObject(kind: 'Pod' | 'Service' | 'Endpoints', namespace: string | undefined, name: string): unknown;
  list(kind: 'Service'): { items: unknown[] };
  status(): { lab: string; nodes: TraceNode[]; lan?: { ip: string } | undefined };
}

/** The lab as the agent itself sees it. */
export function agentLabView(agent: AgentLike): LabView {
  return {
    async status() {
      const s = agent.status();
      return { lab: s.lab, nodes: s.nodes, lan: s.lan };
    },
    async get<T>(kind: 'Pod' | 'Service' | 'Endpoints', namespace: string, name: string) {
      try {
        return agent.getObject(kind, namespace, name) as T;
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw err;
      }
    },
    async listServices() {
      return agent.list('Service').items as Service[];
    },
  };
}

/** Resolves the spec against the lab and runs the trace: the whole of the agent's trace route. */
export async function traceInLab(view: LabView, spec: TraceSpec): Promise<TraceOutcome> {
  const { deps, request } = await resolveTrace(view, spec);
  return runTrace(deps, request);
}
