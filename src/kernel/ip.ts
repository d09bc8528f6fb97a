// iproute2 in batches: one `ip` process per network namespace and step, never one per link or
// address (~8 ms a process against ~0.8 ms a batched line, measured in DESIGN.md). `ip -batch`
// refuses a per-line `-n`, so a batch is bound to one namespace.
import { readdirSync } from 'node:fs';
import { KnetlabError } from '../errors.js';
import { run } from './exec.js';

export interface IpBatch {
  /** Namespace the lines run in; undefined for the root namespace (only `netns add|del` go there). */
  netns?: string;
  lines: string[];
  /** Cleanup: go on past failing lines and do not report them (some objects may already be gone). */
  force?: boolean;
  /** The iproute2 program that reads the lines: `ip` (default), or `bridge` for FDB entries (`fdb replace ...`). */
  tool?: 'ip' | 'bridge';
}

export async function runIpBatch(batch: IpBatch): Promise<void> {
  if (batch.lines.length === 0) return;
  const tool = batch.tool ?? 'ip';
  // `bridge` takes the same -force, -n NS and -batch options as `ip`.
  const argv = [tool, ...(batch.force ? ['-force'] : []), ...(batch.netns ? ['-n', batch.netns] : []), '-batch', '-'];
  const result = await run(argv, { input: batch.lines.join('\n') + '\n', allowFailure: true });
  // A forced batch is cleanup: lines about objects already gone fail, and that is the point.
  if (result.exitCode !== 0 && !batch.force) {
    // ip and bridge report "Command failed -:N" with N the 1-based line of the batch.
    const n = Number(/Command failed -:(\d+)/.exec(result.stderr)?.[1]);
    const line = Number.isFinite(n) ? batch.lines[n - 1] : undefined;
    const where = batch.netns ? ` in ${batch.netns}` : '';
    const detail = result.stderr.replace(/Command failed -:\d+\s*/, '').trim();
    throw new KnetlabError(`${tool}${where}: ${line ? `\`${tool} ${line}\` failed: ` : ''}${detail}`);
  }
}

/** Runs batches of different namespaces side by side, a few at a time (two cores; ip is short-lived). */
export async function runIpBatches(batches: IpBatch[], parallel = 4): Promise<void> {
  const queue = batches.filter((b) => b.lines.length > 0);
  const workers = Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    for (let b = queue.shift(); b; b = queue.shift()) await runIpBatch(b);
  });
  await Promise.all(workers);
}

/** Named network namespaces, read straight from /run/netns (where `ip netns add` mounts them). */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}
