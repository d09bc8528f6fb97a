// How the CLI gets a trace run. A trace adds rules to every node and must take them out again even
// when the CLI is killed half-way (Ctrl-C, SIGKILL), so the CLI never runs it itself: the agent
// does (POST /apis/knetlab.io/v1/trace), and removes its rules whatever happens to the CLI.
import { AgentClient, ApiStatusError } from '../client.js';
import { UsageError } from '../errors.js';
import type { TraceSpec } from './resolve.js';
import type { TraceOutcome } from './run.js';

export async function requestTrace(lab: string, spec: TraceSpec): Promise<TraceOutcome> {
  try {
    return await new AgentClient(lab).post<TraceOutcome>('/apis/knetlab.io/v1/trace', spec);
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 422) {
      const [message, hint] = err.message.split('\nhint: ');
      throw new UsageError(message!, hint ? { hint } : {});
    }
    throw err;
  }
}
