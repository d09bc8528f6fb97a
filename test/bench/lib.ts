// What the benchmarks in test/bench share, so that a figure means the same in each of them and
// scale.ts can put them side by side in one run: the machine's load, percentiles, the discipline
// that leaves nothing behind (labs, scratch namespaces, child processes; Ctrl-C finishes the
// running step and then cleans up), one `nft monitor` per node, and the synthetic kube-proxy
// workloads with the way each mode's sync is timed (proxy-sync.ts for iptables, nftables-sync.ts
// for nftables). Nothing here runs on import.
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/kernel/exec.js';
import { nftBinary, renderNftSync, type NftSyncOptions, type NftSyncResult } from '../../src/proxy/nftables/index.js';
import { renderJumpRules, type SyncResult, type SyncState } from '../../src/proxy/render.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'bin/run.js');

// ---- the machine and the figures ----------------------------------------------------------------

/** Other work on the machine skews every figure; each report says how busy it was. */
export function loadSummary(): string {
  const [one] = loadavg();
  const cores = availableParallelism();
  return `1-min load average ${one!.toFixed(2)} on ${cores} cores${one! > cores ? ' (busy: figures are pessimistic)' : ''}`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function timed<T>(work: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** The lower median: an element of the values, never a mean of two. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export interface Percentiles { p50: number; p90: number; p99: number; max: number }

/** Nearest-rank percentiles: with 50 samples p99 is the largest one. */
export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return { p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1]! };
}

// ---- Ctrl-C: finish the running step, then clean up ---------------------------------------------

let interrupted: NodeJS.Signals | undefined;

/** After SIGINT or SIGTERM every step but cleaning up refuses to start, so main() unwinds into its `finally`. */
export function checkNotInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

export const interruptedBy = () => interrupted;

/** Installs the SIGINT/SIGTERM handlers: note the signal and say what will be removed. */
export function stopOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!interrupted) console.error(`\n${signal}: finishing the running step, then removing ${[...liveLabs, ...liveNamespaces].join(', ') || 'nothing (none left)'}`);
      interrupted = signal;
    });
  }
}

/** Polls `check` every `everyMs` until it returns a value; throws `what` after `timeoutMs`. */
export async function poll<T>(what: string, timeoutMs: number, everyMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    checkNotInterrupted();
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what} (waited ${timeoutMs} ms)`);
    await sleep(everyMs);
  }
}

/** A command in a network namespace; never throws on its exit code. */
export const inNamespace = (netns: string, argv: string[]) => execa('ip', ['netns', 'exec', netns, ...argv], { reject: false });

// ---- labs, through the CLI ----------------------------------------------------------------------

const liveLabs = new Set<string>();

/**
 * Runs the CLI in its own process group, so that Ctrl-C reaches only the benchmark: an `up` cut
 * off half-way could start an agent that the lab's state does not know yet. The running command
 * finishes, the next one is refused, and the benchmark's `finally` takes the labs down.
 */
export function knetlab(args: string[]) {
  if (args[0] !== 'down') checkNotInterrupted();
  return execa(CLI, args, { cwd: ROOT, detached: true });
}

/** `up --lab LAB --json ARGS...`; returns what it printed. The lab is taken down by downAll() whatever happens. */
export async function up(lab: string, args: string[] = []): Promise<string> {
  liveLabs.add(lab);
  const { stdout } = await knetlab(['up', '--lab', lab, '--json', ...args]);
  return stdout;
}

export async function down(lab: string): Promise<void> {
  await knetlab(['down', '--lab', lab]);
  liveLabs.delete(lab);
}

/** Takes down every lab still up; a failure is reported and the next lab is still tried. */
export async function downAll(): Promise<void> {
  for (const lab of [...liveLabs]) {
    await down(lab).catch((err: Error) => console.error(`warning: down --lab ${lab} failed: ${err.message}`));
  }
}

export async function agentPid(lab: string): Promise<number> {
  const { stdout } = await knetlab(['status', '--lab', lab, '-o', 'json']);
  return (JSON.parse(stdout) as { pid: number }).pid;
}

export async function agentRssKiB(lab: string): Promise<number> {
  const pid = await agentPid(lab);
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for agent pid ${pid}`);
  return Number(line.split(/\s+/)[1]);
}

/** `count` agnhost netexec Pods `p-1`..`p-N` (HTTP on 8080), as one multi-document manifest. */
export function podManifest(count: number): string {
  const pod = (i: number) => `apiVersion: v1
kind: Pod
metadata:
  name: p-${i}
spec:
  containers:
    - name: netexec
      image: registry.k8s.io/e2e-test-images/agnhost:2.53
      args: ["netexec", "--http-port=8080"]
      ports:
        - containerPort: 8080
          protocol: TCP
`;
  return Array.from({ length: count }, (_, i) => pod(i + 1)).join('---\n');
}

// ---- scratch namespaces -------------------------------------------------------------------------

const liveNamespaces = new Set<string>();
let nsCounter = 0;

/** A new empty network namespace `PREFIX-<pid>-<n>`, deleted by deleteAllNamespaces() whatever happens. */
export async function freshNamespace(prefix: string): Promise<string> {
  checkNotInterrupted();
  const ns = `${prefix}-${process.pid}-${nsCounter++}`;
  await run(['ip', 'netns', 'add', ns]);
  liveNamespaces.add(ns);
  return ns;
}

export async function deleteNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'delete', ns], { allowFailure: true });
  liveNamespaces.delete(ns);
}

export async function deleteAllNamespaces(): Promise<void> {
  for (const ns of [...liveNamespaces]) await deleteNamespace(ns).catch((err: Error) => console.error(`warning: deleting ${ns} failed: ${err.message}`));
}

// ---- one `nft monitor ruleset` per node ---------------------------------------------------------

export interface RulesMonitor {
  node: string;
  netns: string;
  child: ResultPromise<{ buffer: false; reject: false; stdin: 'ignore' }>;
  /** performance.now() of the last line that arrived; 0 before any. */
  lastLineAt: number;
  listeners: Set<(line: string, at: number) => void>;
  exited: boolean;
}

const PROBE_TABLE = 'knetlab_bench_probe';
/** nft monitor loads the whole ruleset before it listens: seconds with tens of thousands of rules. */
const MONITOR_PROBE_TIMEOUT_MS = 30_000;

/**
 * Starts `nft monitor ruleset` in a namespace; every complete line is handed to the listeners
 * with its arrival time (nft flushes each line). With `handles`, added rules end in `# handle N`.
 * `events` narrows what it prints (`['destroy']`: deletions only, which costs nft far less CPU
 * to decode when a transaction adds thousands of rules).
 */
export function startMonitor(node: string, netns: string, { handles = false, events = ['ruleset'] }: { handles?: boolean; events?: string[] } = {}): RulesMonitor {
  const args = ['nft', ...(handles ? ['-a'] : []), 'monitor', ...events];
  const child = execa('ip', ['netns', 'exec', netns, ...args], { buffer: false, reject: false, stdin: 'ignore' });
  const monitor: RulesMonitor = { node, netns, child, lastLineAt: 0, listeners: new Set(), exited: false };
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const at = performance.now();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      monitor.lastLineAt = at;
      for (const listener of monitor.listeners) listener(line, at);
    }
  });
  // A monitor that dies (Ctrl-C reaches it too) ends every wait on it at once.
  void child.then(() => {
    monitor.exited = true;
    for (const listener of monitor.listeners) listener('', Number.NaN);
  });
  return monitor;
}

/** The arrival time of the first line equal to `expected` (or that it accepts) from now on; undefined after `timeoutMs`. */
export function waitForLine(monitor: RulesMonitor, expected: string | ((line: string) => boolean), timeoutMs: number): Promise<number | undefined> {
  const matches = typeof expected === 'string' ? (line: string) => line === expected : expected;
  return new Promise((resolve) => {
    const finish = (at: number | undefined) => {
      clearTimeout(timer);
      monitor.listeners.delete(listener);
      resolve(at);
    };
    const listener = (line: string, at: number) => {
      if (Number.isNaN(at)) finish(undefined);
      else if (matches(line)) finish(at);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    if (monitor.exited) return finish(undefined);
    monitor.listeners.add(listener);
  });
}

/**
 * `nft monitor` prints nothing until it is subscribed, so a fresh monitor is proven live by a
 * change of its own: a throw-away nft table (not one kube-proxy owns) added and removed until
 * the monitor prints it (at most MONITOR_PROBE_TIMEOUT_MS).
 */
export async function checkMonitorLive(monitor: RulesMonitor): Promise<void> {
  // Added or deleted (a monitor of deletions only), then ` # handle N` with handles.
  const probe = (line: string) => [`add table ip ${PROBE_TABLE}`, `delete table ip ${PROBE_TABLE}`].some((l) => line === l || line.startsWith(`${l} #`));
  const seen = waitForLine(monitor, probe, MONITOR_PROBE_TIMEOUT_MS);
  // nft dumps the ruleset before it listens and starts over when the ruleset changed meanwhile:
  // probes further and further apart, or one that comes faster than the dump keeps it from listening.
  for (let pause = 100; ; pause = Math.min(2 * pause, 2000)) {
    await inNamespace(monitor.netns, ['nft', 'add', 'table', 'ip', PROBE_TABLE]);
    await inNamespace(monitor.netns, ['nft', 'delete', 'table', 'ip', PROBE_TABLE]);
    if ((await Promise.race([seen, sleep(pause).then(() => 'again' as const)])) !== 'again') break;
    checkNotInterrupted();
  }
  if ((await seen) === undefined) throw new Error(`nft monitor in ${monitor.netns} printed nothing for a probe table`);
}

export async function stopMonitors(monitors: readonly RulesMonitor[]): Promise<void> {
  for (const m of monitors) m.child.kill('SIGTERM'); // by the pid execa started
  await Promise.all(monitors.map((m) => m.child));
}

/** Waits until no node's rules changed for `quietMs`, so a measurement does not queue behind another sync. */
export function waitForQuiet(monitors: readonly RulesMonitor[], quietMs: number, timeoutMs: number): Promise<true> {
  return poll(`the rules never stayed unchanged for ${quietMs} ms`, timeoutMs, 20, async () =>
    performance.now() - Math.max(...monitors.map((m) => m.lastLineAt)) >= quietMs ? true : undefined,
  );
}

// ---- synthetic kube-proxy workloads -------------------------------------------------------------

export const BENCH_NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' };
export const BENCH_SERVICE_CIDRS = ['10.43.0.0/16'];

/** Service i: one TCP port, 3 ready endpoints on 3 nodes; `movedEndpoint` replaces the second endpoint's IP. */
export function benchService(i: number, movedEndpoint?: string): ServiceSnapshot {
  return {
    service: { namespace: `ns${i % 50}`, name: `svc-${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' },
    endpoints: [0, 1, 2].map((j) => ({ ip: j === 1 && movedEndpoint ? movedEndpoint : `10.42.${(i >> 8) * 3 + j}.${i & 255}`, port: 8080, ready: true, nodeName: `node-${j}` })),
  };
}

/**
 * N Services; `moved` Services have their second endpoint on another pod. Every call builds new
 * objects and strings, as the agent builds a new snapshot from its objects for every sync.
 */
export function benchSnapshot(services: number, moved: readonly number[] = []): ProxySnapshot {
  return { services: Array.from({ length: services }, (_, i) => benchService(i + 1, moved.includes(i + 1) ? `10.42.250.${(i + 1) & 255}` : undefined)) };
}

/** The snapshot with one endpoint of the k-th Service moved to another pod (unchanged Services are the same objects). */
export function withOneEndpointMoved(snapshot: ProxySnapshot, k: number, tag: number): ProxySnapshot {
  const services = [...snapshot.services];
  const changed = services[k]!;
  services[k] = { ...changed, endpoints: changed.endpoints.map((ep, j) => (j === 1 ? { ...ep, ip: `10.42.250.${tag}` } : ep)) };
  return { services };
}

const countLines = (transactions: readonly string[]) => transactions.reduce((n, t) => n + t.split('\n').length - 1, 0);

// ---- iptables syncs (iptables-restore in a scratch namespace) -----------------------------------

export function iptablesRestore(ns: string, text: string) {
  return run(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush', '--counters'], { input: text });
}

/** A namespace as the agent leaves a node before its first sync: only kube-proxy's jump rules. */
export async function freshIptablesNode(prefix: string): Promise<string> {
  const ns = await freshNamespace(prefix);
  await iptablesRestore(ns, renderJumpRules());
  return ns;
}

/**
 * CPU time of this process's finished children (cutime + cstime in /proc/self/stat, clock ticks
 * of 10 ms). Other work on a shared machine stretches wall times far more than CPU times, so
 * the restores' CPU time says what they would take on a quiet machine.
 */
export function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ", fields[0] is the state (field 3); cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/**
 * How the transactions are given to iptables-restore: 'sequential', one process per transaction
 * in order; 'parallel', the chunks two processes at a time (SyncResult.chunks says they are
 * independent; what the agent does), then the rest in order.
 */
export type Apply = 'sequential' | 'parallel';

async function applyIptables(ns: string, { transactions, chunks }: SyncResult, how: Apply): Promise<void> {
  let next = 0;
  if (how === 'parallel') {
    const worker = async (): Promise<void> => {
      while (next < chunks) await iptablesRestore(ns, transactions[next++]!);
    };
    await Promise.all([worker(), worker()]);
  }
  for (const text of transactions.slice(next)) await iptablesRestore(ns, text);
}

export interface IptablesSyncFigures {
  renderMs: number;
  /** CPU time of this process while rendering. */
  renderCpuMs: number;
  restoreMs: number;
  /** CPU time of the iptables-restore processes (and of `ip netns exec`), in 10 ms ticks. */
  restoreCpuMs: number;
  transactions: number;
  lines: number;
}

/** Renders, then restores; timed separately. */
export async function measureIptablesSync(ns: string, render: () => SyncResult, how: Apply = 'sequential'): Promise<IptablesSyncFigures & { state: SyncState }> {
  const cpu = process.cpuUsage();
  const rendered = await timed(render);
  const { user, system } = process.cpuUsage(cpu);
  const cpuBefore = childrenCpuMs();
  const restored = await timed(() => applyIptables(ns, rendered.value, how));
  const restoreCpuMs = childrenCpuMs() - cpuBefore;
  const { transactions } = rendered.value;
  return { renderMs: rendered.ms, renderCpuMs: (user + system) / 1000, restoreMs: restored.ms, restoreCpuMs, transactions: transactions.length, lines: countLines(transactions), state: rendered.value.state };
}

export async function natRuleCount(ns: string): Promise<number> {
  const { stdout } = await run(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat']);
  return stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
}

// ---- nftables syncs (nft -f in a scratch namespace) ---------------------------------------------

export const NFT = nftBinary();
const TIME = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', '%U %S'] : [];

export interface NftApplied {
  wallMs: number;
  /** user + system CPU time of `nft` (kernel work included): unlike wall time, not inflated by other load. */
  cpuMs: number;
}

/** `nft -f -` of one transaction, timed by the wall clock and by the CPU time nft used. */
export async function nftApply(ns: string, text: string): Promise<NftApplied> {
  const start = performance.now();
  const r = await run([...TIME, 'ip', 'netns', 'exec', ns, NFT, '-f', '-'], { input: text });
  const wallMs = performance.now() - start;
  const [user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { wallMs, cpuMs: TIME.length && user !== undefined && sys !== undefined ? (user + sys) * 1000 : Number.NaN };
}

export interface NftSyncFigures {
  renderMs: number;
  /** Apply time of each transaction, in order: wall clock, and nft's CPU time. */
  applyMs: number[];
  cpuMs: number[];
  lines: number;
}

export async function measureNftSync(ns: string, render: () => NftSyncResult): Promise<NftSyncFigures & { result: NftSyncResult }> {
  const { ms: renderMs, value: result } = await timed(render);
  const applyMs: number[] = [];
  const cpuMs: number[] = [];
  for (const text of result.transactions) {
    const applied = await nftApply(ns, text);
    applyMs.push(applied.wallMs);
    cpuMs.push(applied.cpuMs);
  }
  return { renderMs, applyMs, cpuMs, lines: countLines(result.transactions), result };
}

const stripNft = ({ result: _r, ...f }: NftSyncFigures & { result: NftSyncResult }): NftSyncFigures => f;

/**
 * nftables mode at one size, in a fresh namespace `PREFIX-<pid>-<n>`: a full sync of N Services,
 * then two one-Service updates in a row (the second is the figure: the first warms the memo after
 * a full sync), then two floors for context: an empty `nft -f`, and one chain with one DNAT rule.
 */
export async function measureNftSize(prefix: string, services: number, options: NftSyncOptions = {}) {
  const ns = await freshNamespace(prefix);
  try {
    const snapshot: ProxySnapshot = { services: Array.from({ length: services }, (_, i) => benchService(i + 1)) };
    const opts = { serviceCIDRs: BENCH_SERVICE_CIDRS, ...options };
    const full = await measureNftSync(ns, () => renderNftSync(snapshot, BENCH_NODE, undefined, opts));
    const once = withOneEndpointMoved(snapshot, Math.floor(services / 2), 1);
    const first = await measureNftSync(ns, () => renderNftSync(once, BENCH_NODE, full.result.state, opts));
    const twice = withOneEndpointMoved(once, Math.floor(services / 3), 2);
    const partial = await measureNftSync(ns, () => renderNftSync(twice, BENCH_NODE, first.result.state, opts));
    const empty = await nftApply(ns, '\n');
    const natRule = await nftApply(ns, 'add chain ip kube-proxy bench-floor { meta l4proto tcp dnat to 10.0.0.1:80 ; }\n');
    const { stdout } = await run(['ip', 'netns', 'exec', ns, NFT, 'list', 'chains', 'ip']);
    const chains = stdout.split('\n').filter((l) => l.trim().startsWith('chain ')).length;
    return { full: stripNft(full), partial: stripNft(partial), floors: { emptyMs: empty.wallMs, natRuleMs: natRule.wallMs, natRuleCpuMs: natRule.cpuMs }, chains };
  } finally {
    await deleteNamespace(ns);
  }
}
