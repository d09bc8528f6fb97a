// The shape of `GET /apis/knetlab.io/v1/status`, shared by the agent and `knetlab status`.
import type { Agent } from '../agent/agent.js';

export type LabStatus = ReturnType<Agent['status']>;
