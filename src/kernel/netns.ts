// The one place the agent enters network namespaces. A pod's sockets are created by the agent
// itself, inside the pod's namespace, without a process per pod: setns(2) switches only the
// calling thread, and Node creates a listening socket synchronously on the main thread, so
// `enter(pod); listen(); enter(home)` leaves the socket in the pod and the agent back home.
// Everything that switches namespaces goes through inNetns() so that the switch back is never
// forgotten and never interleaved with other work.
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KnetlabError } from '../errors.js';

interface SetnsAddon {
  /** setns(fd, CLONE_NEWNET) on the calling thread; throws on failure. */
  setns(fd: number): void;
  /** A new non-blocking, unconnected IPv4 TCP socket in the calling thread's namespace. */
  tcpSocket(): number;
  /** A new blocking NETLINK_ROUTE socket in the calling thread's namespace. */
  netlinkSocket(): number;
}

const ADDON_FUNCTIONS: readonly (keyof SetnsAddon)[] = ['setns', 'tcpSocket', 'netlinkSocket'];

/** Where `ip netns add NAME` bind-mounts a named namespace. */
export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

// The agent's own namespace, kept open for the life of the process so that we can always return
// to it. thread-self: setns() is per thread, and it is this thread we return.
const homeNetnsFd = openSync('/proc/thread-self/ns/net', 'r');
let addon: SetnsAddon | undefined;
let switchedInto: string | undefined;

/** Loads (once) the native setns addon; exported so that `doctor` can check it is built. */
export function loadSetnsAddon(): SetnsAddon {
  if (addon) return addon;
  const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  const addonPath = join(root, 'build', 'Release', 'setns.node');
  if (!existsSync(addonPath)) {
    throw new KnetlabError(`the native setns addon is missing (${addonPath})`, {
      hint: 'run `npm ci` (it builds native/setns.c)',
    });
  }
  const loaded = createRequire(import.meta.url)(addonPath) as Partial<SetnsAddon>;
  // A checkout updated without `npm ci` keeps the addon it was built with, which may lack a function added since.
  const missing = ADDON_FUNCTIONS.filter((name) => typeof loaded[name] !== 'function');
  if (missing.length) {
    throw new KnetlabError(`the native setns addon (${addonPath}) is out of date: it lacks ${missing.join(', ')}`, { hint: 'run `npm ci` (or `npm run install`) to build native/setns.c again' });
  }
  addon = loaded as SetnsAddon;
  return addon;
}

// This module runs as src/kernel/netns.ts (tsx) and as dist/src/kernel/netns.js (built), so the
// addon is found relative to the package root rather than to this file.
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new KnetlabError(`no package.json above ${from}; cannot locate build/Release/setns.node`, {
        hint: 'run `npm ci` (it builds native/setns.c)',
      });
    }
  }
}

/**
 * Runs `fn` synchronously with the calling thread inside the named network namespace, then
 * returns home, whatever happens. Only work done synchronously by `fn` happens inside: anything
 * deferred (a callback, a promise, a `dns.lookup`) runs later, back home. So never pass an async
 * function; one that returns a promise is rejected with an error.
 */
export function inNetns<T>(name: string, fn: () => T): T {
  if (fn.constructor.name === 'AsyncFunction') {
    throw new KnetlabError(`inNetns("${name}") was given an async function; only synchronous work happens inside a namespace`);
  }
  if (switchedInto !== undefined) {
    throw new KnetlabError(`inNetns("${name}") called while already inside "${switchedInto}"; namespaces cannot be nested`);
  }
  const { setns } = loadSetnsAddon();
  const targetFd = openNetns(name);
  let result: T;
  try {
    try {
      setns(targetFd);
    } catch (cause) {
      throw new KnetlabError(`cannot enter network namespace "${name}": ${(cause as Error).message}`, {
        cause,
        hint: process.getuid?.() === 0 ? undefined : 'entering a namespace needs root; run it again with sudo',
      });
    }
    switchedInto = name;
    try {
      result = fn();
    } finally {
      returnHome(name, setns);
    }
  } finally {
    closeSync(targetFd);
  }
  if (isThenable(result)) {
    // Its rejection would otherwise be unhandled and crash the agent; the error below says why.
    Promise.resolve(result).catch(() => {});
    throw new KnetlabError(`inNetns("${name}") was given a function that returned a promise; only synchronous work happens inside a namespace`);
  }
  return result;
}

function openNetns(name: string): number {
  if (name === '' || name.includes('/') || name === '.' || name === '..') {
    throw new KnetlabError(`invalid network namespace name "${name}"`);
  }
  try {
    return openSync(netnsPath(name), 'r');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new KnetlabError(`network namespace "${name}" does not exist (no ${netnsPath(name)})`, {
        cause,
        hint: 'check `ip netns list`; the pod or node may have been deleted',
      });
    }
    throw new KnetlabError(`cannot open network namespace "${name}": ${(cause as Error).message}`, { cause });
  }
}

// Failing to return would leave every later socket of the agent in a pod's namespace, silently.
// That cannot be repaired from here, so the agent stops (fail-stop) rather than carry on.
function returnHome(from: string, setns: SetnsAddon['setns']): void {
  try {
    setns(homeNetnsFd);
    switchedInto = undefined;
  } catch (error) {
    process.stderr.write(`knetlab: fatal: cannot return from network namespace "${from}" to the agent's own: ${(error as Error).message}\n`);
    process.exit(70);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Writes `net.*` sysctls inside a namespace, e.g. `{'net.ipv4.ip_forward': '1'}`. /proc/sys/net
 * shows the namespace of the thread that opens it, so the writes happen inside inNetns. Only
 * `net.*` keys are accepted: every other sysctl is global and would change the host.
 */
export function writeSysctls(netns: string, values: Record<string, string>): void {
  const writes = Object.entries(values).map(([key, value]) => ({ key, value, path: sysctlPath(key) }));
  inNetns(netns, () => {
    for (const { key, value, path } of writes) {
      try {
        writeFileSync(path, value);
      } catch (cause) {
        throw sysctlError(netns, key, value, cause as NodeJS.ErrnoException);
      }
    }
  });
}

// sysctl(8) notation: dots separate levels and a slash stands for a dot inside a level name
// (net.ipv4.conf.eth0/10.forwarding is the VLAN device eth0.10).
function sysctlPath(key: string): string {
  const levels = key.split('.').map((level) => level.replaceAll('/', '.'));
  if (levels[0] !== 'net' || levels.length < 3) {
    throw new KnetlabError(`sysctl "${key}" cannot be set per namespace; only net.* sysctls belong to a network namespace`);
  }
  if (levels.some((level) => level === '' || level === '.' || level === '..')) {
    throw new KnetlabError(`invalid sysctl name "${key}"`);
  }
  return '/proc/sys/' + levels.join('/');
}

function sysctlError(netns: string, key: string, value: string, cause: NodeJS.ErrnoException): KnetlabError {
  if (cause.code === 'ENOENT') {
    const hint = key.startsWith('net.bridge.')
      ? 'net.bridge.* appears only when the br_netfilter module is loaded: run `modprobe br_netfilter`'
      : 'check the name with `sysctl -a | grep ...`; the kernel module that provides it may not be loaded';
    return new KnetlabError(`sysctl "${key}" does not exist in network namespace "${netns}"`, { cause, hint });
  }
  return new KnetlabError(`cannot set sysctl "${key}" to "${value}" in network namespace "${netns}": ${cause.message}`, { cause });
}

/**
 * An unconnected TCP socket that lives in the named namespace; `connect()` it from anywhere in
 * the agent. Kubelet probes pods from the node; this lets the agent do the same without a process.
 */
export function tcpSocketIn(netns: string): Socket {
  const fd = inNetns(netns, () => loadSetnsAddon().tcpSocket());
  return new Socket({ fd, readable: true, writable: true });
}
