// Where a lab keeps its state on the host: one directory per lab under /run (a tmpfs, like
// /run/netns, so a reboot clears both together). The CLI and the agent agree on it through here.
import { join } from 'node:path';

export const RUN_DIR = process.env.KNETLAB_RUN_DIR ?? '/run/knetlab';

export interface LabPaths {
  dir: string;
  /** The agent's API, root-only (0600). */
  socket: string;
  pid: string;
  log: string;
  /** The validated config the lab runs, as JSON. */
  config: string;
  /** Objects and IP allocations, so a restarted agent restores the same pods with the same IPs. */
  state: string;
  /** Held while `up` or `down` works on the lab. */
  lock: string;
}

export function labPaths(lab: string): LabPaths {
  const dir = join(RUN_DIR, lab);
  return {
    dir,
    socket: join(dir, 'agent.sock'),
    pid: join(dir, 'agent.pid'),
    log: join(dir, 'agent.log'),
    config: join(dir, 'config.json'),
    state: join(dir, 'state.json'),
    lock: join(dir, 'lock'),
  };
}
