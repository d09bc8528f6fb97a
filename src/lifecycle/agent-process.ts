// Starting and stopping a lab's agent process. The agent runs detached so that it outlives `up`;
// its pid is recorded, and it is only ever signalled after checking, by its command line, that the
// pid still is that lab's agent.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KnetlabError } from '../errors.js';
import { AgentClient } from '../client.js';
import { labPaths } from '../agent/paths.js';

// Under tsx this module is src/lifecycle/agent-process.ts and the agent is a .ts file too.
const AGENT_ENTRY = fileURLToPath(new URL(`../agent/main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** The pid of the lab's agent if that process is alive and really is the lab's agent. */
export function agentPid(lab: string): number | undefined {
  const { pid: pidFile } = labPaths(lab);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(AGENT_ENTRY) && argv.includes(lab) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startAgent(lab: string, timeoutMs = 30_000): Promise<number> {
  const paths = labPaths(lab);
  rmSync(paths.socket, { force: true });
  const logFd = openSync(paths.log, 'a');
  const child = spawn(process.execPath, [...process.execArgv, AGENT_ENTRY, '--lab', lab], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  if (!pid) throw new KnetlabError('could not start the agent process');
  writeFileSync(paths.pid, String(pid));
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.unref();

  const client = new AgentClient(lab);
  const deadline = Date.now() + timeoutMs;
  while (!(await client.alive())) {
    if (exited !== undefined) {
      throw new KnetlabError(`the agent exited (code ${exited}) while building the lab:\n${logTail(paths.log)}`, { hint: `full log: ${paths.log}` });
    }
    if (Date.now() > deadline) throw new KnetlabError(`the agent did not become ready within ${timeoutMs / 1000} s`, { hint: `see ${paths.log}` });
    await new Promise((r) => setTimeout(r, 10));
  }
  return pid;
}

/** Stops the agent: asks it to tear the lab down, then makes sure the process is gone. */
export async function stopAgent(lab: string): Promise<boolean> {
  const client = new AgentClient(lab);
  const answered = await client.alive();
  if (answered) await client.post('/apis/knetlab.io/v1/shutdown', {}).catch(() => undefined);
  const pid = agentPid(lab);
  if (pid === undefined) return answered;
  if (!(await exitedWithin(pid, 3000))) {
    process.kill(pid, 'SIGKILL');
    await exitedWithin(pid, 3000);
  }
  return true;
}

async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it has exited all the same.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => '  ' + l).join('\n');
  } catch {
    return '  (no log)';
  }
}
