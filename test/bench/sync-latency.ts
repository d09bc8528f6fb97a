// Measures how long a deleted pod keeps receiving Service traffic: the time from the DELETE of a
// pod until EVERY node's kube-proxy rules have dropped it. A real kube-proxy waits at least its
// minimum sync period (1 s by default) before it even starts; knetlab promises p50 under 100 ms and
// p99 under 300 ms. The figure comes from an external observer, not from the agent's own word: one
// `nft monitor ruleset` per node namespace, each line timestamped as it arrives, and the deletion
// counts as done on a node when that node's monitor prints `delete chain ip nat KUBE-SEP-...` for
// the pod's endpoint chain. See test/bench/README.md.
//
//   node --import tsx test/bench/sync-latency.ts [--deletions N] [--json]
//
// Needs root and a built CLI (`npm run build`). Its one lab is named `bench-sync-*` and is taken
// down at the end, also on error or Ctrl-C; the monitors are killed by pid.
import { execa, type ResultPromise } from 'execa';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { AgentClient } from '../../src/client.js';
import { endpointChainName } from '../../src/proxy/hash.js';
import type { List, Node, Pod } from '../../src/api/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin/run.js');
const WEB = join(ROOT, 'examples/web.yaml');
const REPLICAS = 3; // examples/web.yaml
const SERVICE_PORT_NAME = 'default/web:http';
const TARGET_PORT = 8080; // the pods' `http` containerPort
const TARGETS = { p50Ms: 100, p99Ms: 300 };
const KUBE_PROXY_MIN_SYNC_PERIOD_MS = 1000; // upstream default of --iptables-min-sync-period
const EVENT_TIMEOUT_MS = 3_000; // per deletion, for every node's monitor to print the chain deletion
const READY_TIMEOUT_MS = 20_000; // for the Deployment to be back at 3 pods, their chains everywhere
const QUIET_MS = 200; // no rule change on any node for this long before a deletion starts
const PROBE_TABLE = 'knetlab_bench_probe';

// ---- processes and the lab (as in up.ts) --------------------------------------------------------

const liveLabs = new Set<string>();
let interrupted: NodeJS.Signals | undefined;

function checkNotInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

/** The CLI in its own process group: Ctrl-C lets a running `up` finish instead of half-doing it. */
function knetlab(args: string[]) {
  if (args[0] !== 'down') checkNotInterrupted();
  return execa(CLI, args, { cwd: ROOT, detached: true });
}

async function up(lab: string, manifest: string): Promise<void> {
  liveLabs.add(lab);
  await knetlab(['up', '--lab', lab, '--json', '-f', manifest]);
}

async function down(lab: string): Promise<void> {
  await knetlab(['down', '--lab', lab]);
  liveLabs.delete(lab);
}

async function downAll(): Promise<void> {
  for (const lab of [...liveLabs]) {
    await down(lab).catch((err: Error) => console.error(`warning: down --lab ${lab} failed: ${err.message}`));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `check` every `everyMs` until it returns a value; throws `what` after `timeoutMs`. */
async function poll<T>(what: string, timeoutMs: number, everyMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    checkNotInterrupted();
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what} (waited ${timeoutMs} ms)`);
    await sleep(everyMs);
  }
}

const inNode = (netns: string, argv: string[]) => execa('ip', ['netns', 'exec', netns, ...argv], { reject: false });

// ---- one `nft monitor ruleset` per node ---------------------------------------------------------

interface RulesMonitor {
  node: string;
  netns: string;
  child: ResultPromise<{ buffer: false; reject: false; stdin: 'ignore' }>;
  /** performance.now() of the last line that arrived; 0 before any. */
  lastLineAt: number;
  listeners: Set<(line: string, at: number) => void>;
  exited: boolean;
}

/** Starts the monitor; every complete line is handed to the listeners with its arrival time. */
function startMonitor(node: string, netns: string): RulesMonitor {
  const child = execa('ip', ['netns', 'exec', netns, 'nft', 'monitor', 'ruleset'], { buffer: false, reject: false, stdin: 'ignore' });
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

/** The arrival time of the first line equal to `expected` from now on; undefined after `timeoutMs`. */
function waitForLine(monitor: RulesMonitor, expected: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const finish = (at: number | undefined) => {
      clearTimeout(timer);
      monitor.listeners.delete(listener);
      resolve(at);
    };
    const listener = (line: string, at: number) => {
      if (Number.isNaN(at)) finish(undefined);
      else if (line === expected) finish(at);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    if (monitor.exited) return finish(undefined);
    monitor.listeners.add(listener);
  });
}

/**
 * `nft monitor` prints nothing until it is subscribed, so a fresh monitor is proven live by a
 * change of its own: a throw-away nft table (not an iptables one the agent owns) added and removed.
 */
async function checkMonitorLive(monitor: RulesMonitor): Promise<void> {
  const seen = waitForLine(monitor, `add table ip ${PROBE_TABLE}`, EVENT_TIMEOUT_MS);
  for (;;) {
    await inNode(monitor.netns, ['nft', 'add', 'table', 'ip', PROBE_TABLE]);
    await inNode(monitor.netns, ['nft', 'delete', 'table', 'ip', PROBE_TABLE]);
    if ((await Promise.race([seen, sleep(100).then(() => 'again' as const)])) !== 'again') break;
    checkNotInterrupted();
  }
  if ((await seen) === undefined) throw new Error(`nft monitor in ${monitor.netns} printed nothing for a probe table`);
}

async function stopMonitors(monitors: RulesMonitor[]): Promise<void> {
  for (const m of monitors) m.child.kill('SIGTERM'); // by the pid execa started
  await Promise.all(monitors.map((m) => m.child));
}

/** Waits until no node's rules changed for QUIET_MS, so a deletion does not queue behind another sync. */
function waitForQuiet(monitors: RulesMonitor[]): Promise<true> {
  return poll('the rules never stayed unchanged for ' + QUIET_MS + ' ms', READY_TIMEOUT_MS, 20, async () =>
    performance.now() - Math.max(...monitors.map((m) => m.lastLineAt)) >= QUIET_MS ? true : undefined,
  );
}

// ---- the lab's pods and rules -------------------------------------------------------------------

interface WebPod {
  name: string;
  ip: string;
  node: string;
}

async function runningWebPods(client: AgentClient): Promise<WebPod[]> {
  const list = await client.get<List<Pod>>('/api/v1/namespaces/default/pods');
  return list.items
    .filter((p) => p.metadata.labels?.app === 'web' && !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.status.podIP)
    .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => ({ name: p.metadata.name, ip: p.status!.podIP!, node: p.spec.nodeName ?? '?' }));
}

function waitForReplicas(client: AgentClient): Promise<WebPod[]> {
  return poll(`Deployment web did not get back to ${REPLICAS} running pods`, READY_TIMEOUT_MS, 20, async () => {
    const pods = await runningWebPods(client);
    return pods.length === REPLICAS ? pods : undefined;
  });
}

const httpEndpointChain = (ip: string) => endpointChainName(SERVICE_PORT_NAME, 'tcp', `${ip}:${TARGET_PORT}`);

/** Seen from outside the agent: the chain exists in every node's nat table. */
function waitForChainEverywhere(monitors: RulesMonitor[], chain: string): Promise<true> {
  return poll(`${chain} did not appear on every node`, READY_TIMEOUT_MS, 20, async () => {
    const found = await Promise.all(monitors.map((m) => inNode(m.netns, ['iptables', '-w', '-t', 'nat', '-S', chain])));
    return found.every((r) => r.exitCode === 0) ? true : undefined;
  });
}

// ---- one deletion -------------------------------------------------------------------------------

interface Deletion {
  pod: string;
  ip: string;
  node: string;
  chain: string;
  deleteMs: number;
  /** Latest node's `delete chain` line minus t0; undefined when a node printed none in time. */
  rulesMs: number | undefined;
  perNodeMs: Record<string, number | undefined>;
}

async function measureDeletion(client: AgentClient, monitors: RulesMonitor[], pod: WebPod): Promise<Deletion> {
  const chain = httpEndpointChain(pod.ip);
  const seen = monitors.map((m) => waitForLine(m, `delete chain ip nat ${chain}`, EVENT_TIMEOUT_MS));
  const t0 = performance.now();
  await client.delete(`/api/v1/namespaces/default/pods/${pod.name}`);
  const deleteMs = performance.now() - t0;
  const times = await Promise.all(seen);
  const perNodeMs = Object.fromEntries(monitors.map((m, i) => [m.node, times[i] === undefined ? undefined : times[i]! - t0]));
  const rulesMs = times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[])) - t0;
  return { pod: pod.name, ip: pod.ip, node: pod.node, chain, deleteMs, rulesMs, perNodeMs };
}

/** Once, at the end: which deleted IPs `iptables-save -t nat` still shows on a node. */
async function staleAddresses(monitors: RulesMonitor[], deletedIPs: string[], liveIPs: Set<string>): Promise<string[]> {
  const stale: string[] = [];
  for (const m of monitors) {
    const { stdout } = await inNode(m.netns, ['iptables-save', '-t', 'nat']);
    for (const ip of deletedIPs) {
      if (liveIPs.has(ip)) continue; // handed out again: its rules are a live pod's, not stale ones
      if (new RegExp(`(^|[^0-9.])${ip.replaceAll('.', '\\.')}([/:\\s]|$)`, 'm').test(stdout)) stale.push(`${ip} on ${m.node}`);
    }
  }
  return stale;
}

// ---- report -------------------------------------------------------------------------------------

interface Percentiles { p50: number; p90: number; p99: number; max: number }

/** Nearest-rank percentiles: with 50 samples p99 is the largest one. */
function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return { p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1]! };
}

let quiet = false;
const log = (line: string) => void (quiet || console.log(line));
const fmt = (ms: number | undefined) => (ms === undefined ? 'not seen' : `${ms.toFixed(1)} ms`);
const fmtPercentiles = (p: Percentiles) => `p50 ${fmt(p.p50)}, p90 ${fmt(p.p90)}, p99 ${fmt(p.p99)}, max ${fmt(p.max)}`;
function loadSummary(): string {
  const [one] = loadavg();
  const cores = availableParallelism();
  return `1-min load average ${one!.toFixed(2)} on ${cores} cores${one! > cores ? ' (busy: figures are pessimistic)' : ''}`;
}
const verdict = (ok: boolean, what: string) => `${ok ? 'PASS' : 'FAIL'}  ${what}`;

function describe(n: number, total: number, d: Deletion): string {
  const nodes = Object.entries(d.perNodeMs).map(([node, ms]) => `${node} ${fmt(ms)}`).join(', ');
  return `  ${String(n).padStart(3)}/${total} ${d.pod} (${d.ip}, on ${d.node}): rules ${fmt(d.rulesMs)} [${nodes}], DELETE ${fmt(d.deleteMs)}`;
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { deletions: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } } });
  const count = Number(values.deletions);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--deletions wants a positive integer, not "${values.deletions}"`);
  quiet = values.json;
  const lab = `bench-sync-${process.pid.toString(36)}`;
  const loadBefore = loadSummary();
  log(`load before: ${loadBefore}`);
  const monitors: RulesMonitor[] = [];
  try {
    await up(lab, WEB);
    const client = new AgentClient(lab);
    const nodes = (await client.get<List<Node>>('/api/v1/nodes')).items.map((n) => n.metadata.name);
    for (const node of nodes) monitors.push(startMonitor(node, `kn.${lab}.node.${node}`));
    for (const m of monitors) await checkMonitorLive(m);
    log(`lab ${lab}: examples/web.yaml on ${nodes.length} nodes (${nodes.join(', ')}); \`nft monitor ruleset\` running in each`);
    log(`${count} deletions: time from sending DELETE until every node printed \`delete chain ip nat <KUBE-SEP of ${SERVICE_PORT_NAME} IP:${TARGET_PORT}>\``);

    const deletions: Deletion[] = [];
    for (let i = 1; i <= count; i++) {
      const pods = await waitForReplicas(client);
      const pod = pods[Math.floor(Math.random() * pods.length)]!;
      await waitForChainEverywhere(monitors, httpEndpointChain(pod.ip));
      await waitForQuiet(monitors);
      checkNotInterrupted();
      const d = await measureDeletion(client, monitors, pod);
      deletions.push(d);
      log(describe(i, count, d));
    }

    const liveIPs = new Set((await runningWebPods(client)).map((p) => p.ip));
    const stale = await staleAddresses(monitors, deletions.map((d) => d.ip), liveIPs);
    const seen = deletions.flatMap((d) => (d.rulesMs === undefined ? [] : [d.rulesMs]));
    const missed = deletions.length - seen.length;
    const rules = seen.length ? percentiles(seen) : undefined;
    const deleteCall = percentiles(deletions.map((d) => d.deleteMs));

    log(`rules no longer send traffic to the pod, on every node (${seen.length} of ${deletions.length} seen):`);
    log(`   ${rules ? fmtPercentiles(rules) : 'no deletion was seen on every node'}`);
    log(`DELETE call (returns after the agent synced the rules and made the replacement pod):`);
    log(`   ${fmtPercentiles(deleteCall)}`);
    log(`not seen on every node within ${EVENT_TIMEOUT_MS} ms: ${missed}`);
    log(`deleted IPs still in some node's \`iptables-save -t nat\` afterwards: ${stale.length}${stale.length ? ` (${stale.join(', ')})` : ''}`);
    log(`for context, not measured here: kube-proxy's default minimum sync period alone is ${KUBE_PROXY_MIN_SYNC_PERIOD_MS / 1000} s (--iptables-min-sync-period)`);

    const verdicts = [
      verdict(!!rules && rules.p50 < TARGETS.p50Ms, `rules latency p50 ${fmt(rules?.p50)} < ${TARGETS.p50Ms} ms`),
      verdict(!!rules && rules.p99 < TARGETS.p99Ms, `rules latency p99 ${fmt(rules?.p99)} < ${TARGETS.p99Ms} ms`),
      verdict(missed === 0, `every deletion seen on every node within ${EVENT_TIMEOUT_MS} ms (${missed} missed)`),
      verdict(stale.length === 0, `no deleted IP left in iptables-save -t nat (${stale.length} found)`),
    ];
    const loadAfter = loadSummary();
    log(`load after: ${loadAfter}`);
    log('Verdict:');
    for (const v of verdicts) log(`   ${v}`);
    if (values.json) {
      const report = { lab, nodes, deletions: deletions.length, load: { before: loadBefore, after: loadAfter }, targets: TARGETS, kubeProxyMinSyncPeriodMs: KUBE_PROXY_MIN_SYNC_PERIOD_MS, rulesMs: rules ?? null, deleteCallMs: deleteCall, missed, stale, verdicts, samples: deletions };
      console.log(JSON.stringify(report, null, 2));
    }
    if (verdicts.some((v) => v.startsWith('FAIL'))) process.exitCode = 1;
  } finally {
    await stopMonitors(monitors);
    await downAll();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!interrupted) console.error(`\n${signal}: finishing the running step, then taking down ${[...liveLabs].join(', ') || 'no labs'}`);
    interrupted = signal;
  });
}

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interrupted ? 130 : 1;
});
