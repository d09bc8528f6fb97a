// One `nft -a monitor trace` per node, started in the node's namespace before the trace rules go
// in. `nft monitor` prints nothing when it is ready, so readiness is read from the kernel: the
// process holds a NETLINK_NETFILTER socket (protocol 12 in /proc/PID/net/netlink) subscribed to
// the NFNLGRP_TRACE group (group 9: bit 0x100 of the Groups column). Each monitor runs under
// `timeout`, so that one whose parent died never outlives the trace by long (and never keeps a
// deleted node's namespace alive); it is stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { KnetlabError } from '../errors.js';
import { nftBinary } from '../proxy/nftables/index.js';
import type { MonitorLine, TraceNode } from './types.js';

const NETLINK_NETFILTER = 12;
const NFNLGRP_TRACE_BIT = 1 << (9 - 1);
/** The longest a monitor may live, whatever happens to the process that started it. */
export const MONITOR_LIFETIME_SECONDS = 60;

export interface NodeMonitor {
  node: string;
  child: ChildProcess;
  stderr: string;
  exited: boolean;
}

export interface Monitors {
  monitors: NodeMonitor[];
  lines: MonitorLine[];
}

/** Starts a monitor in every node and resolves once each is subscribed to trace events. */
export async function startMonitors(nodes: TraceNode[], t0: number, readyTimeoutMs = 3000): Promise<Monitors> {
  const lines: MonitorLine[] = [];
  const monitors = nodes.map((node) => {
    const child = spawn('ip', ['netns', 'exec', node.netns, 'timeout', String(MONITOR_LIFETIME_SECONDS), nftBinary(), '-a', 'monitor', 'trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const m: NodeMonitor = { node: node.name, child, stderr: '', exited: false };
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const t = Math.round((performance.now() - t0) * 100) / 100;
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        lines.push({ node: node.name, t, line: buffered.slice(0, nl) });
        buffered = buffered.slice(nl + 1);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (m.stderr += chunk));
    child.on('exit', () => (m.exited = true));
    child.on('error', (err) => {
      m.exited = true;
      m.stderr += err.message;
    });
    return m;
  });
  const started = { monitors, lines };
  const deadline = performance.now() + readyTimeoutMs;
  for (;;) {
    const failed = monitors.find((m) => m.exited);
    if (failed) {
      await stopMonitors(started);
      throw new KnetlabError(`nft monitor trace could not start in node ${failed.node}: ${failed.stderr.trim() || 'it exited'}`, { hint: 'is nftables installed? `knetlab doctor` checks' });
    }
    if (monitors.every((m) => m.child.pid !== undefined && subscribed(m.child.pid))) return started;
    if (performance.now() > deadline) {
      await stopMonitors(started);
      throw new KnetlabError(`nft monitor trace did not start listening within ${readyTimeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Stops every monitor by its pid and waits (briefly) for each to exit. */
export async function stopMonitors({ monitors }: Monitors): Promise<void> {
  await Promise.all(
    monitors.map(async (m) => {
      if (m.exited || m.child.pid === undefined) return;
      const exited = new Promise<void>((resolve) => m.child.once('exit', () => resolve()));
      process.kill(m.child.pid, 'SIGTERM'); // `timeout` passes it on to nft
      const timer = setTimeout(() => {
        if (!m.exited && m.child.pid !== undefined) process.kill(m.child.pid, 'SIGKILL');
      }, 1000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** True when the process (or the nft it runs under `timeout`) listens to the trace group. */
export function subscribed(pid: number): boolean {
  return [pid, ...children(pid)].some((p) => {
    try {
      return hasTraceSocket(readFileSync(`/proc/${p}/net/netlink`, 'utf8'), socketInodes(p));
    } catch {
      return false; // not started yet, or already gone
    }
  });
}

/** Parses /proc/PID/net/netlink: a NETLINK_NETFILTER socket of ours in the trace group. Pure. */
export function hasTraceSocket(table: string, inodes: Set<string>): boolean {
  return table
    .split('\n')
    .slice(1)
    .some((row) => {
      const c = row.trim().split(/\s+/);
      return Number(c[1]) === NETLINK_NETFILTER && (parseInt(c[3] ?? '0', 16) & NFNLGRP_TRACE_BIT) !== 0 && inodes.has(c[9] ?? '');
    });
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
