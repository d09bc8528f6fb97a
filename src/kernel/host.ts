// Reads the host's own network (root namespace): its routes and link names, for the host-access
// checks. Only reads.
import { readdirSync } from 'node:fs';
import type { HostNetwork } from '../dataplane/host-access.js';
import { run } from './exec.js';

export async function readHostNetwork(): Promise<HostNetwork> {
  const { stdout } = await run(['ip', '-j', 'route', 'show']);
  const routes = (JSON.parse(stdout || '[]') as { dst: string; dev?: string }[]).map(({ dst, dev }) => ({ dst, dev }));
  return { routes, links: readdirSync('/sys/class/net') };
}
