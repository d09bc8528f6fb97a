// The benchmark table of issue 8: what kube-proxy's two modes, iptables and nftables, cost at
// scale, measured side by side in one run so that both columns come from the same machine in the
// same minutes (the machine is shared: a figure from a busy machine is pessimistic, and the load
// average is printed first and last).
//
//   (a) full sync and one-Service update at 1,000 / 5,000 / 10,000 Services x 3 endpoints, on one
//       node (a scratch namespace), through the pure renderers the agent calls;
//   (b) pod deletion until no node's rules send traffic to the pod, p50/p99, 3-node lab with
//       1,000 Services x 3 endpoints over 100 Deployments (a pod backs 10 Services), seen from
//       outside the agent by `nft monitor` in every node;
//   (c) `up` of 1,000 pods on 4 nodes, the agent's memory, `down`, and what is left afterwards;
//   (d) first-packet latency (TCP connect) to a ClusterIP from a pod, at 10 and 5,000 Services.
//
// Targets (issue 8): nftables full sync at 10k under 3 s and one-Service update under 30 ms;
// iptables full sync at 5k under 1 s and partial under 30 ms; 1,000 pods on 4 nodes up under
// 10 s, agent under 300 MB RSS, down under 5 s, nothing left; convergence p99 under 300 ms at
// 1,000 Services in both modes. See test/bench/README.md.
//
//   node --import tsx test/bench/scale.ts [--quick] [--modes iptables,nftables] [--deletions N]
//        [--samples N] [--json]
//
// Needs root and a built CLI (`npm run build`). Labs are named `bench-scale-*`, scratch
// namespaces `kn.bench-scale-*`; all are removed at the end, also on an error, SIGINT or SIGTERM.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { labPaths } from '../../src/agent/paths.js';
import type { List, Pod, Service } from '../../src/api/types.js';
import { AgentClient } from '../../src/client.js';
import type { LabStatus } from '../../src/lifecycle/status.js';
import { renderSync } from '../../src/proxy/render.js';
import {
  agentPid,
  benchSnapshot,
  BENCH_NODE,
  checkMonitorLive,
  checkNotInterrupted,
  deleteAllNamespaces,
  deleteNamespace,
  down,
  downAll,
  freshIptablesNode,
  inNamespace,
  interruptedBy,
  knetlab,
  loadSummary,
  measureIptablesSync,
  measureNftSize,
  percentiles,
  podManifest,
  poll,
  sleep,
  startMonitor,
  stopMonitors,
  stopOnSignals,
  timed,
  up,
  waitForQuiet,
  type Percentiles,
  type RulesMonitor,
} from './lib.js';

const MODES = ['iptables', 'nftables'] as const;
type Mode = (typeof MODES)[number];
const SHORT: Record<Mode, string> = { iptables: 'ipt', nftables: 'nft' };
const SCRATCH_PREFIX = 'kn.bench-scale';

/** How big each part is: the issue's sizes, and a smaller run (`--quick`) to smoke-test the bench. */
interface Plan {
  syncSizes: number[];
  convergenceServices: number;
  deletions: number;
  latencyServices: [few: number, many: number];
  samples: number;
  pods: number;
  /**
   * Deployments of 3 pods that the Services select, Service i the deployment i % webGroups: at the
   * convergence size, each pod backs convergenceServices / webGroups Services (10), so a deletion
   * changes as many Services as it would in a real cluster, not all of them.
   */
  webGroups: number;
}
const FULL: Plan = { syncSizes: [1000, 5000, 10000], convergenceServices: 1000, deletions: 30, latencyServices: [10, 5000], samples: 200, pods: 1000, webGroups: 100 };
const QUICK: Plan = { syncSizes: [1000], convergenceServices: 200, deletions: 8, latencyServices: [10, 1000], samples: 100, pods: 200, webGroups: 20 };

const TARGETS = {
  iptablesFull5000Ms: 1000,
  iptablesPartial5000Ms: 30,
  nftablesFull10000Ms: 3000,
  nftablesPartial10000Ms: 30,
  convergenceP99Ms: 300,
  upPodsMs: 10_000,
  agentRssMiB: 300,
  downPodsMs: 5_000,
};

const CONVERGENCE_TIMEOUT_MS = 10_000; // per deletion, for every node to drop the pod
const SETTLE_TIMEOUT_MS = 180_000; // for a lab's rules to reach a size after an apply
const QUIET_MS = 200; // no rule change on any node for this long before a deletion
const WEB_REPLICAS = 3;
const PROBE_SERVICE = 'zz-probe'; // sorts after every scale-NNNNN: the last rule of iptables' KUBE-SERVICES
const CLIENT_POD = 'scale-client';

const log = (line: string) => console.error(line); // progress on stderr: --json keeps stdout for the report
const fmtMs = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 100 ? `${ms.toFixed(1)} ms` : ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** Parts that could not be measured, and why: printed with the table, and the exit code is 1. */
const failures: string[] = [];

function recordFailure(what: string, err: Error): string {
  const message = err.message.split('\n')[0]!;
  log(`   ${what} FAILED: ${message}`);
  failures.push(`${what}: ${message}`);
  return message;
}

// ---- (a) full and one-Service syncs on one node -------------------------------------------------

interface SyncFigures {
  /** Render plus apply of every transaction, as the agent does it. */
  fullMs: number;
  fullRenderMs: number;
  fullTransactions: number;
  /** Render plus the apply that makes the change live. */
  updateMs: number;
  updateRenderMs: number;
  /** nftables: the transaction after the live one, deleting the stale chains (iptables: 0, done in the same restore). */
  updateCleanupMs: number;
}

/**
 * iptables mode as the agent drives it (src/agent/kube-proxy/iptables.ts): a full sync with the
 * freshNode hint, the leading chunks two restores at a time; then two one-Service partial syncs
 * with topLevelChains 'when-changed' (the second is the figure: the first follows a full sync).
 */
async function measureIptablesSyncs(services: number): Promise<SyncFigures> {
  const ns = await freshIptablesNode(SCRATCH_PREFIX);
  try {
    const [a, b] = [Math.floor(services / 2), Math.floor(services / 3)];
    const [first, once, twice] = [benchSnapshot(services), benchSnapshot(services, [a]), benchSnapshot(services, [a, b])];
    const full = await measureIptablesSync(ns, () => renderSync(first, BENCH_NODE, undefined, { topLevelChains: 'when-changed', freshNode: true }), 'parallel');
    const warm = await measureIptablesSync(ns, () => renderSync(once, BENCH_NODE, full.state, { topLevelChains: 'when-changed' }));
    const update = await measureIptablesSync(ns, () => renderSync(twice, BENCH_NODE, warm.state, { topLevelChains: 'when-changed' }));
    return {
      fullMs: full.renderMs + full.restoreMs,
      fullRenderMs: full.renderMs,
      fullTransactions: full.transactions,
      updateMs: update.renderMs + update.restoreMs,
      updateRenderMs: update.renderMs,
      updateCleanupMs: 0,
    };
  } finally {
    await deleteNamespace(ns);
  }
}

/** nftables mode with the options the agent gives (src/agent/kube-proxy/nftables.ts), as nftables-sync.ts measures it. */
async function measureNftablesSyncs(services: number): Promise<SyncFigures> {
  const { full, partial } = await measureNftSize(SCRATCH_PREFIX, services);
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  return {
    fullMs: full.renderMs + sum(full.applyMs),
    fullRenderMs: full.renderMs,
    fullTransactions: full.applyMs.length,
    updateMs: partial.renderMs + (partial.applyMs[0] ?? 0),
    updateRenderMs: partial.renderMs,
    updateCleanupMs: sum(partial.applyMs.slice(1)),
  };
}

const measureSyncs: Record<Mode, (services: number) => Promise<SyncFigures>> = { iptables: measureIptablesSyncs, nftables: measureNftablesSyncs };

// ---- labs: configs and manifests ----------------------------------------------------------------

function configFor(mode: Mode, nodes: number): string {
  const agents = Array.from({ length: nodes - 1 }, (_, i) => `  - name: agent-${i + 1}\n`).join('');
  return `kube-proxy-arg: [proxy-mode=${mode}]\nnodes:\n  - name: server\n    role: server\n${agents}`;
}

/** Deployments scale-web-gN (3 pods each, the Services' endpoints) and the pod the first-packet curls start from. */
function webManifest(groups: number): string {
  const deployment = (g: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: scale-web-g${g}
spec:
  replicas: ${WEB_REPLICAS}
  selector:
    matchLabels:
      app: scale-web
      group: g${g}
  template:
    metadata:
      labels:
        app: scale-web
        group: g${g}
    spec:
      containers:
        - name: netexec
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          args: ["netexec", "--http-port=8080"]
          ports:
            - name: http
              containerPort: 8080
`;
  const client = `apiVersion: v1
kind: Pod
metadata:
  name: ${CLIENT_POD}
  labels:
    app: ${CLIENT_POD}
spec:
  containers:
    - name: netexec
      image: registry.k8s.io/e2e-test-images/agnhost:2.53
      args: ["netexec", "--http-port=8080"]
      ports:
        - containerPort: 8080
`;
  return [...Array.from({ length: groups }, (_, g) => deployment(g)), client].join('---\n');
}

const serviceName = (i: number) => (i === 0 ? PROBE_SERVICE : `scale-${String(i).padStart(5, '0')}`);

/** Services `from`..`to-1` (0 is zz-probe), Service i selecting the 3 pods of scale-web-g(i % groups) on port 80 -> http. */
function servicesManifest(from: number, to: number, groups: number): string {
  const service = (i: number) => `apiVersion: v1
kind: Service
metadata:
  name: ${serviceName(i)}
spec:
  selector:
    app: scale-web
    group: g${i % groups}
  ports:
    - name: http
      port: 80
      targetPort: http
`;
  return Array.from({ length: to - from }, (_, k) => service(from + k)).join('---\n');
}

class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'knetlab-bench-scale-'));
  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function labStatus(lab: string): Promise<LabStatus> {
  const { stdout } = await knetlab(['status', '--lab', lab, '-o', 'json']);
  return JSON.parse(stdout) as LabStatus;
}

/** The lab must run the mode asked for: a config key misread would make both columns iptables. */
async function checkProxyMode(lab: string, mode: Mode): Promise<LabStatus> {
  const status = await labStatus(lab);
  const running = (status.config as { proxyMode?: string } | undefined)?.proxyMode;
  if (running !== mode) throw new Error(`lab ${lab} runs kube-proxy mode ${running ?? '(unknown)'}, not ${mode}`);
  return status;
}

// ---- the rules that send traffic to a pod, seen with nft ----------------------------------------
//
// Both modes write rules nft can list: iptables-nft's `-j DNAT --to-destination IP:PORT` is the
// native expression `dnat to IP:PORT` in `table ip nat` (in a KUBE-SEP chain that a KUBE-SVC
// chain's rules `jump` to), and nftables mode writes `dnat to IP:PORT` in `table ip kube-proxy`'s
// endpoint chains, which a service chain's `numgen random mod N vmap { 0 : goto endpoint-... }`
// picks. A node stopped sending new connections to a pod when either every DNAT rule to its IP is
// gone, or every rule that jumps or goes to a chain holding one is: iptables mode does both in the
// restore that drops the pod; nftables mode rewrites the service chains (the vmaps) in the
// transaction that makes the change live and deletes the endpoint chains in the next.

const dnatTo = (ip: string) => `dnat to ${ip}:`;
/** A rule as `FAMILY TABLE CHAIN #HANDLE`; a chain's or table's rules share its prefix. */
const ruleKey = (family: string, table: string, chain: string, handle: string) => `${family} ${table} ${chain} #${handle}`;
const targetsOf = (rule: string) => [...rule.matchAll(/\b(?:jump|goto) ([^\s,{}]+)/g)].map((m) => m[1]!);

/** Per node, the rules that make traffic reach a pod: those that DNAT to its IP, and those that lead to their chains. */
interface RulesToPod {
  dnats: Set<string>;
  leads: Set<string>;
  /** The chains that hold a DNAT to the pod. */
  chains: Set<string>;
}

interface ListedRule { key: string; chain: string; text: string }

/** `nft -a list ruleset` in a namespace, one entry per rule (a vmap's elements are inline, on the rule's line). */
async function listRules(netns: string): Promise<ListedRule[]> {
  const { stdout } = await inNamespace(netns, ['nft', '-a', 'list', 'ruleset']);
  const rules: ListedRule[] = [];
  let table = '';
  let chain = '';
  for (const line of stdout.split('\n')) {
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) [table, chain] = [`${t[1]} ${t[2]}`, ''];
    const c = /^\s+chain (\S+) \{/.exec(line);
    if (c) chain = c[1]!;
    const h = / # handle (\d+)$/.exec(line);
    if (h && chain && !c) rules.push({ key: `${table} ${chain} #${h[1]}`, chain, text: line });
  }
  return rules;
}

const dnatCount = (rules: readonly ListedRule[]) => rules.filter((r) => r.text.includes('dnat to ')).length;

function rulesToPodIn(rules: readonly ListedRule[], ip: string): RulesToPod {
  const dnats = rules.filter((r) => r.text.includes(dnatTo(ip)));
  const chains = new Set(dnats.map((r) => r.chain));
  const leads = rules.filter((r) => targetsOf(r.text).some((target) => chains.has(target)));
  return { dnats: new Set(dnats.map((r) => r.key)), leads: new Set(leads.map((r) => r.key)), chains };
}

/**
 * Applies one `nft -a monitor` line to a node's rules to the pod: added rules that DNAT to it or
 * lead to its chains join, deleted rules, chains and tables leave.
 */
function applyMonitorLine(rules: RulesToPod, ip: string, line: string): void {
  const added = /^add rule (\S+) (\S+) (\S+) .* # handle (\d+)$/.exec(line);
  if (added) {
    const key = ruleKey(added[1]!, added[2]!, added[3]!, added[4]!);
    if (line.includes(dnatTo(ip))) rules.dnats.add(key);
    if (targetsOf(line).some((target) => rules.chains.has(target))) rules.leads.add(key);
    return;
  }
  const rule = /^delete rule (\S+) (\S+) (\S+) handle (\d+)/.exec(line);
  if (rule) {
    const key = ruleKey(rule[1]!, rule[2]!, rule[3]!, rule[4]!);
    rules.dnats.delete(key);
    rules.leads.delete(key);
    return;
  }
  const chain = /^(?:delete|flush) chain (\S+) (\S+) (\S+)/.exec(line);
  const table = /^(?:delete|flush) table (\S+) (\S+)/.exec(line);
  const prefix = chain ? `${chain[1]} ${chain[2]} ${chain[3]} #` : table ? `${table[1]} ${table[2]} ` : undefined;
  if (!prefix) return;
  for (const set of [rules.dnats, rules.leads]) for (const key of set) if (key.startsWith(prefix)) set.delete(key);
}

/**
 * Arrival times on one node's monitor of deletions, from t0 on; undefined: not seen within the
 * timeout. The kernel sends a transaction's events once it committed and nft prints them one by
 * one, so a line arrives after its change took effect by the time nft took for the lines before
 * it: a little, with deletions only (an `nft monitor` of every event spent about a second of CPU
 * per node on one nftables-mode transaction at 1,000 Services, which the agent had to share the
 * 2 cores with).
 */
interface NodeTimes {
  /** The first rule deleted: the node's sync began to apply. */
  firstChangeAt?: number;
  /** Nothing leads traffic to the pod any more (no DNAT to it, or nothing reaches one). */
  unreachableAt?: number;
  /** No rule DNATs to the pod any more (nftables mode: the live transaction empties its endpoint chains). */
  dnatsGoneAt?: number;
}

/** Follows a node's monitor until no rule DNATs to the pod, at most `timeoutMs`. */
function followUntilGone(monitor: RulesMonitor, rules: RulesToPod, ip: string, timeoutMs: number): Promise<NodeTimes> {
  return new Promise((resolve) => {
    const times: NodeTimes = {};
    const finish = () => {
      clearTimeout(timer);
      monitor.listeners.delete(listener);
      resolve(times);
    };
    const listener = (line: string, at: number) => {
      if (Number.isNaN(at)) return finish();
      times.firstChangeAt ??= at;
      applyMonitorLine(rules, ip, line);
      if (rules.dnats.size === 0 || rules.leads.size === 0) times.unreachableAt ??= at;
      if (rules.dnats.size === 0) {
        times.dnatsGoneAt = at;
        finish();
      }
    };
    const timer = setTimeout(finish, timeoutMs);
    if (monitor.exited) return finish();
    monitor.listeners.add(listener);
  });
}

/** A pod of the lab that failed (its sandbox could not be made) would keep its Services short of endpoints for good. */
async function checkNoPodFailed(lab: string): Promise<void> {
  const pods = await new AgentClient(lab).get<List<Pod>>('/api/v1/pods');
  const failed = pods.items.find((p) => p.status?.phase === 'Failed');
  if (failed) throw new Error(`pod ${failed.metadata.namespace ?? 'default'}/${failed.metadata.name} failed: ${failed.status?.message ?? 'no message'}`);
}

/** Waits until every node has at least `dnats` DNAT rules and the counts held still for a second. */
async function waitForRules(lab: string, netnses: readonly string[], dnats: number): Promise<void> {
  let last = '';
  await poll(`the nodes' rules did not reach ${dnats} DNAT rules and settle`, SETTLE_TIMEOUT_MS, 1000, async () => {
    await checkNoPodFailed(lab);
    const totals = await Promise.all(netnses.map(async (ns) => dnatCount(await listRules(ns))));
    const now = totals.join(', ');
    const done = totals.every((t) => t >= dnats) && now === last;
    last = now;
    return done ? true : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; DNAT rules per node at the end: ${last}`);
  });
}

// ---- (b) pod deletion to rules convergence ------------------------------------------------------

interface WebPod { name: string; ip: string; node: string }

async function readyWebPods(client: AgentClient): Promise<WebPod[]> {
  const list = await client.get<List<Pod>>('/api/v1/namespaces/default/pods');
  return list.items
    .filter((p) => p.metadata.labels?.app === 'scale-web' && !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.status.podIP)
    .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => ({ name: p.metadata.name, ip: p.status!.podIP!, node: p.spec.nodeName ?? '?' }));
}

const waitForReplicas = (client: AgentClient, groups: number) =>
  poll(`Deployments scale-web-g* did not get back to ${WEB_REPLICAS * groups} ready pods`, 30_000, 20, async () => {
    const pods = await readyWebPods(client);
    return pods.length === WEB_REPLICAS * groups ? pods : undefined;
  });

/**
 * Per node, the rules that DNAT to the pod, listed while no node's rules change (listed again if
 * one changed meanwhile), once every node has one for each of the `services`.
 */
async function rulesToPod(monitors: readonly RulesMonitor[], ip: string, services: number): Promise<RulesToPod[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await waitForQuiet(monitors, QUIET_MS, SETTLE_TIMEOUT_MS);
    const before = Math.max(...monitors.map((m) => m.lastLineAt));
    const listed = await Promise.all(monitors.map(async (m) => rulesToPodIn(await listRules(m.netns), ip)));
    const unchanged = Math.max(...monitors.map((m) => m.lastLineAt)) === before;
    if (unchanged && listed.every((r) => r.dnats.size >= services && r.leads.size >= services)) return listed;
    await sleep(100);
  }
  throw new Error(`the rules to ${ip} never stood still on every node with one for each of ${services} Services`);
}

interface NodeDeletion { unreachableMs?: number; firstChangeMs?: number; dnatsGoneMs?: number }

interface Deletion {
  pod: string;
  ip: string;
  /** The last node's unreachableMs; undefined when some node was not seen in time. */
  rulesMs: number | undefined;
  perNode: Record<string, NodeDeletion>;
}

async function measureDeletion(client: AgentClient, monitors: readonly RulesMonitor[], pod: WebPod, services: number): Promise<Deletion> {
  const rules = await rulesToPod(monitors, pod.ip, services);
  checkNotInterrupted();
  const followed = monitors.map((m, i) => followUntilGone(m, rules[i]!, pod.ip, CONVERGENCE_TIMEOUT_MS));
  const t0 = performance.now();
  await client.delete(`/api/v1/namespaces/default/pods/${pod.name}`);
  const times = await Promise.all(followed);
  const since = (at: number | undefined) => (at === undefined ? undefined : at - t0);
  const perNode = Object.fromEntries(monitors.map((m, i) => [m.node, { unreachableMs: since(times[i]!.unreachableAt), firstChangeMs: since(times[i]!.firstChangeAt), dnatsGoneMs: since(times[i]!.dnatsGoneAt) }]));
  const unreachable = Object.values(perNode).map((n) => n.unreachableMs);
  const rulesMs = unreachable.some((t) => t === undefined) ? undefined : Math.max(...(unreachable as number[]));
  return { pod: pod.name, ip: pod.ip, rulesMs, perNode };
}

const seenOnly = (values: readonly (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
const percentilesOfSeen = (values: readonly (number | undefined)[]) => (seenOnly(values).length ? percentiles(seenOnly(values)) : undefined);
const earliest = (values: readonly (number | undefined)[]) => (seenOnly(values).length ? Math.min(...seenOnly(values)) : undefined);
/** The latest of the values; undefined when one of them is. */
const latest = (values: readonly (number | undefined)[]) => (values.every((v) => v !== undefined) ? Math.max(...(values as number[])) : undefined);

interface Convergence {
  services: number;
  deletions: number;
  ms: Percentiles | undefined;
  /** For context: until the first node's first rule change, and until no node DNATs to the pod. */
  firstChangeMs: Percentiles | undefined;
  dnatsGoneMs: Percentiles | undefined;
  missed: number;
  stale: string[];
  samples: Deletion[];
}

async function measureConvergence(lab: string, nodes: LabStatus['nodes'], services: number, deletions: number, groups: number): Promise<Convergence> {
  const client = new AgentClient(lab);
  const monitors = nodes.map((n) => startMonitor(n.name, n.netns, { handles: true, events: ['destroy'] }));
  const done: Deletion[] = [];
  try {
    for (const m of monitors) await checkMonitorLive(m);
    for (let i = 1; i <= deletions; i++) {
      const pods = await waitForReplicas(client, groups);
      const d = await measureDeletion(client, monitors, pods[Math.floor(Math.random() * pods.length)]!, services / groups);
      done.push(d);
      const at = (ms: number | undefined) => (ms === undefined ? 'not seen' : fmtMs(ms));
      const perNode = Object.entries(d.perNode).map(([node, n]) => `${node} ${at(n.unreachableMs)} (first change ${at(n.firstChangeMs)}, DNATs gone ${at(n.dnatsGoneMs)})`).join(', ');
      log(`     deletion ${i}/${deletions} ${d.pod} (${d.ip}): ${d.rulesMs === undefined ? 'NOT SEEN on every node' : fmtMs(d.rulesMs)} [${perNode}]`);
    }
    await waitForReplicas(client, groups);
    const live = new Set((await readyWebPods(client)).map((p) => p.ip));
    const stale: string[] = [];
    for (const m of monitors) {
      const rules = await listRules(m.netns);
      for (const d of done) if (!live.has(d.ip) && rulesToPodIn(rules, d.ip).dnats.size > 0) stale.push(`${d.ip} on ${m.node}`);
    }
    const seen = done.filter((d) => d.rulesMs !== undefined);
    const nodesOf = (d: Deletion) => Object.values(d.perNode);
    return {
      services,
      deletions: done.length,
      ms: percentilesOfSeen(done.map((d) => d.rulesMs)),
      firstChangeMs: percentilesOfSeen(done.map((d) => earliest(nodesOf(d).map((n) => n.firstChangeMs)))),
      dnatsGoneMs: percentilesOfSeen(done.map((d) => latest(nodesOf(d).map((n) => n.dnatsGoneMs)))),
      missed: done.length - seen.length,
      stale,
      samples: done,
    };
  } finally {
    await stopMonitors(monitors);
  }
}

// ---- (d) first-packet latency ---------------------------------------------------------------------

interface FirstPacket { services: number; target: string; samples: number; clusterIP: Percentiles; podIP: Percentiles }

/**
 * `samples` requests by one curl in the client pod's namespace, each on a new TCP connection
 * (`Connection: close`: the server closes, curl connects again), each's `%{time_connect}`: from
 * the SYN, which the node's rules DNAT, until the handshake completed. Warmed up first.
 */
async function connectTimes(netns: string, url: string, samples: number): Promise<number[]> {
  const run = async (n: number) => {
    const { stdout, exitCode } = await inNamespace(netns, ['curl', '-s', '-o', '/dev/null', '--max-time', '2', '-H', 'Connection: close', '-w', 'TC %{time_connect} %{num_connects} %{http_code}\\n', `${url}?msg=[1-${n}]`]);
    const lines = stdout.split('\n').filter((l) => l.startsWith('TC '));
    const parsed = lines.map((l) => l.split(' ')).filter(([, , connects, code]) => connects === '1' && code === '200');
    if (exitCode !== 0 || parsed.length !== n) throw new Error(`curl ${url}: ${parsed.length} of ${n} requests answered 200 on a new connection (exit ${exitCode})`);
    return parsed.map(([, seconds]) => Number(seconds) * 1000);
  };
  await run(10);
  return run(samples);
}

async function measureFirstPacket(lab: string, services: number, samples: number): Promise<FirstPacket> {
  const client = new AgentClient(lab);
  const svc = await client.get<Service>(`/api/v1/namespaces/default/services/${PROBE_SERVICE}`);
  const web = (await readyWebPods(client))[0];
  if (!svc.spec.clusterIP || !web) throw new Error(`no ClusterIP for ${PROBE_SERVICE} or no ready scale-web pod`);
  const netns = `kn.${lab}.pod.default.${CLIENT_POD}`;
  const clusterIP = await connectTimes(netns, `http://${svc.spec.clusterIP}:80/echo`, samples);
  const podIP = await connectTimes(netns, `http://${web.ip}:8080/echo`, samples);
  return { services, target: `${PROBE_SERVICE} ${svc.spec.clusterIP}`, samples, clusterIP: percentiles(clusterIP), podIP: percentiles(podIP) };
}

// ---- (b) and (d) on one 3-node lab per mode ---------------------------------------------------------

interface ServiceLabFigures {
  firstPacket: FirstPacket[];
  convergence?: Convergence;
  /** What stopped the lab's measurements part-way; the figures before it stand. */
  error?: string;
}

/**
 * One 3-node lab: scale-web-g* (3 pods each), the client pod and 10 Services; first-packet latency; Services up to
 * the convergence size, the deletions; up to the large size, first-packet latency again.
 */
async function measureServiceLab(mode: Mode, plan: Plan, scratch: Scratch, tag: string): Promise<ServiceLabFigures> {
  const lab = `bench-scale-${tag}-svc-${SHORT[mode]}`;
  const [few, many] = plan.latencyServices;
  const config = scratch.write(`config-3-${mode}.yaml`, configFor(mode, 3));
  const figures: ServiceLabFigures = { firstPacket: [] };
  try {
    await up(lab, ['-c', config, '-f', scratch.write('web.yaml', webManifest(plan.webGroups)), '-f', scratch.write(`services-0-${few}.yaml`, servicesManifest(0, few, plan.webGroups))]);
    const { nodes } = await checkProxyMode(lab, mode);
    const netnses = nodes.map((n) => n.netns);
    let have = few;
    const grow = async (to: number) => {
      if (to <= have) return;
      const file = scratch.write(`services-${have}-${to}.yaml`, servicesManifest(have, to, plan.webGroups));
      const { ms } = await timed(() => knetlab(['apply', '--lab', lab, '-f', file]));
      log(`   ${mode}: applied Services ${have}..${to - 1} in ${fmtMs(ms)}; waiting for every node's rules`);
      have = to;
      await waitForRules(lab, netnses, WEB_REPLICAS * to);
    };
    await waitForRules(lab, netnses, WEB_REPLICAS * few);
    figures.firstPacket.push(await measureFirstPacket(lab, few, plan.samples));
    log(`   ${mode}: first packet at ${few} Services: ${describeFirstPacket(figures.firstPacket.at(-1)!)}`);
    await grow(plan.convergenceServices);
    log(`   ${mode}: ${plan.deletions} pod deletions at ${plan.convergenceServices} Services on ${nodes.length} nodes`);
    figures.convergence = await measureConvergence(lab, nodes, plan.convergenceServices, plan.deletions, plan.webGroups);
    log(`   ${mode}: ${describeConvergence(figures.convergence)}`);
    await grow(many);
    figures.firstPacket.push(await measureFirstPacket(lab, many, plan.samples));
    log(`   ${mode}: first packet at ${many} Services: ${describeFirstPacket(figures.firstPacket.at(-1)!)}`);
  } catch (err) {
    if (interruptedBy()) throw err;
    figures.error = recordFailure(`(b)/(d) ${mode}`, err as Error);
  } finally {
    await down(lab);
  }
  return figures;
}

const describeConvergence = (c: Convergence) =>
  `${c.deletions} deletions: ${fmtPercentiles(c.ms)}; ${c.missed} missed; stale: ${c.stale.join(', ') || 'none'}; first rule change on any node ${fmtPercentiles(c.firstChangeMs)}; no DNAT left on any node ${fmtPercentiles(c.dnatsGoneMs)}`;
const fmtPercentiles = (p: Percentiles | undefined) => (p ? `p50 ${fmtMs(p.p50)}, p90 ${fmtMs(p.p90)}, p99 ${fmtMs(p.p99)}, max ${fmtMs(p.max)}` : 'none seen');
const describeFirstPacket = (f: FirstPacket) => `ClusterIP p50 ${fmtMs(f.clusterIP.p50)} p99 ${fmtMs(f.clusterIP.p99)}; pod IP directly p50 ${fmtMs(f.podIP.p50)} p99 ${fmtMs(f.podIP.p99)} (${f.samples} connections each)`;

// ---- (c) many pods on 4 nodes -------------------------------------------------------------------

interface PodsFigures { pods: number; upMs: number; rssMiB: number; answered: boolean; downMs: number; leftovers: string[] }

/** A zombie has exited all the same (the agent's parent is whoever adopted it, which may not reap it soon). */
function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** What a taken-down lab could have left: namespaces, its agent, its state directory, /etc/netns entries. */
async function leftoversOf(lab: string, pid: number): Promise<string[]> {
  const { stdout } = await execa('ip', ['netns', 'list']);
  const prefix = `kn.${lab}.`;
  const left = stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix)).map((n) => `namespace ${n}`);
  if (isRunning(pid)) left.push(`agent process ${pid}`);
  if (existsSync(labPaths(lab).dir)) left.push(`state directory ${labPaths(lab).dir}`);
  if (existsSync('/etc/netns')) left.push(...readdirSync('/etc/netns').filter((n) => n.startsWith(prefix)).map((n) => `/etc/netns/${n}`));
  return left;
}

/** p-1 gets /hostname from a random other pod, by its pod IP. */
async function randomPodAnswers(lab: string, ips: Map<string, string>): Promise<boolean> {
  const names = [...ips.keys()].filter((n) => n !== 'p-1');
  const pod = names[Math.floor(Math.random() * names.length)];
  if (!pod) return false;
  const r = await inNamespace(`kn.${lab}.pod.default.p-1`, ['curl', '-s', '--max-time', '2', '--retry', '3', '--retry-all-errors', `http://${ips.get(pod)}:8080/hostname`]);
  return r.stdout === pod;
}

async function measurePods(mode: Mode, pods: number, manifest: string, scratch: Scratch, tag: string): Promise<PodsFigures> {
  const lab = `bench-scale-${tag}-pods-${SHORT[mode]}`;
  const config = scratch.write(`config-4-${mode}.yaml`, configFor(mode, 4));
  let isUp = true;
  try {
    const { ms: upMs, value } = await timed(() => up(lab, ['-c', config, '-f', manifest]));
    const { applied } = JSON.parse(value) as { applied: { name: string; podIP?: string }[] };
    const ips = new Map(applied.filter((a) => a.podIP).map((a) => [a.name, a.podIP!]));
    if (ips.size !== pods) throw new Error(`up reported ${ips.size} pods with an IP, not ${pods}`);
    await checkProxyMode(lab, mode);
    const answered = await randomPodAnswers(lab, ips);
    const pid = await agentPid(lab);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    const { ms: downMs } = await timed(() => down(lab));
    isUp = false;
    return { pods, upMs, rssMiB: rssKiB / 1024, answered, downMs, leftovers: await leftoversOf(lab, pid) };
  } finally {
    if (isUp) await down(lab);
  }
}

// ---- the table ----------------------------------------------------------------------------------

type PerMode<T> = Partial<Record<Mode, T>>;

interface Row {
  figure: string;
  cells: PerMode<string>;
  target: string;
  /** Per mode the target applies to: met or not (absent: no target, or not measured). */
  met: PerMode<boolean>;
}

interface Results {
  syncs: Record<number, PerMode<SyncFigures | string>>;
  serviceLabs: PerMode<ServiceLabFigures | string>;
  pods: PerMode<PodsFigures | string>;
}

/** A figure per mode; a string is the error that kept the mode from measuring it. */
function row<T>(figure: string, values: PerMode<T | string>, show: (v: T) => string, target?: { text: string; modes: readonly Mode[]; ok: (v: T) => boolean }): Row {
  const cells: PerMode<string> = {};
  const met: PerMode<boolean> = {};
  for (const mode of MODES) {
    const v = values[mode];
    if (v === undefined) continue;
    cells[mode] = typeof v === 'string' ? 'error' : show(v);
    if (target?.modes.includes(mode)) met[mode] = typeof v !== 'string' && target.ok(v);
  }
  return { figure, cells, target: target?.text ?? '', met };
}

function verdictOf(r: Row): string {
  const judged = Object.entries(r.met) as [Mode, boolean][];
  if (!judged.length) return r.target ? 'not measured' : '';
  const failed = judged.filter(([, ok]) => !ok).map(([m]) => m);
  if (!failed.length) return 'PASS';
  return judged.length > 1 && failed.length < judged.length ? `FAIL (${failed.join(', ')})` : 'FAIL';
}

/** Per mode, a part of what was measured (an error stays an error; undefined: the part was not reached). */
function pick<T, U>(values: PerMode<T | string>, part: (v: T) => U | undefined): PerMode<U | string> {
  const out: PerMode<U | string> = {};
  for (const mode of MODES) {
    const v = values[mode];
    const u = v === undefined ? undefined : typeof v === 'string' ? v : (part(v) ?? (v as { error?: string }).error);
    if (u !== undefined) out[mode] = u;
  }
  return out;
}

function tableRows(plan: Plan, results: Results): Row[] {
  const rows: Row[] = [];
  const n = (k: number) => k.toLocaleString('en-US');
  for (const size of plan.syncSizes) {
    const figures = results.syncs[size] ?? {};
    const fullTarget = size === 5000 ? { text: 'iptables < 1 s', modes: ['iptables'] as const, ok: (f: SyncFigures) => f.fullMs < TARGETS.iptablesFull5000Ms } : size === 10000 ? { text: 'nftables < 3 s', modes: ['nftables'] as const, ok: (f: SyncFigures) => f.fullMs < TARGETS.nftablesFull10000Ms } : undefined;
    rows.push(row(`(a) full sync, ${n(size)} Services x 3 endpoints`, figures, (f) => fmtMs(f.fullMs), fullTarget));
  }
  for (const size of plan.syncSizes) {
    const figures = results.syncs[size] ?? {};
    const updateTarget = size === 5000 ? { text: 'iptables < 30 ms', modes: ['iptables'] as const, ok: (f: SyncFigures) => f.updateMs < TARGETS.iptablesPartial5000Ms } : size === 10000 ? { text: 'nftables < 30 ms', modes: ['nftables'] as const, ok: (f: SyncFigures) => f.updateMs < TARGETS.nftablesPartial10000Ms } : undefined;
    rows.push(row(`(a) one-Service update, ${n(size)} Services`, figures, (f) => fmtMs(f.updateMs), updateTarget));
  }
  const conv = pick(results.serviceLabs, (l: ServiceLabFigures) => l.convergence);
  const servicesOf = Object.values(conv).find((c): c is Convergence => typeof c === 'object')?.services ?? plan.convergenceServices;
  rows.push(row(`(b) pod deletion -> rules, p50 (${n(servicesOf)} Services, ${plan.webGroups * WEB_REPLICAS} pods, 3 nodes)`, conv, (c) => (c.ms ? fmtMs(c.ms.p50) : 'none seen')));
  rows.push(row('(b) pod deletion -> rules, p99', conv, (c) => (c.ms ? `${fmtMs(c.ms.p99)}${c.missed ? ` +${c.missed} missed` : ''}` : 'none seen'), servicesOf === 1000 ? { text: 'both < 300 ms, 0 missed', modes: MODES, ok: (c) => !!c.ms && c.ms.p99 < TARGETS.convergenceP99Ms && c.missed === 0 && c.stale.length === 0 } : undefined));
  const pods = results.pods;
  const podsN = n(plan.pods);
  rows.push(row(`(c) up, ${podsN} pods on 4 nodes`, pods, (p) => fmtMs(p.upMs), plan.pods === 1000 ? { text: 'both < 10 s', modes: MODES, ok: (p) => p.upMs < TARGETS.upPodsMs && p.answered } : undefined));
  rows.push(row(`(c) agent RSS with ${podsN} pods`, pods, (p) => `${Math.round(p.rssMiB)} MiB`, plan.pods === 1000 ? { text: 'both < 300 MB', modes: MODES, ok: (p) => p.rssMiB * 1.048576 < TARGETS.agentRssMiB } : undefined));
  rows.push(row(`(c) down, ${podsN} pods`, pods, (p) => fmtMs(p.downMs), plan.pods === 1000 ? { text: 'both < 5 s', modes: MODES, ok: (p) => p.downMs < TARGETS.downPodsMs } : undefined));
  rows.push(row('(c) left after down', pods, (p) => (p.leftovers.length ? `${p.leftovers.length} things` : 'nothing'), { text: 'nothing', modes: MODES, ok: (p) => p.leftovers.length === 0 }));
  for (const [i, size] of plan.latencyServices.entries()) {
    const fp = pick(results.serviceLabs, (l: ServiceLabFigures) => l.firstPacket[i]);
    rows.push(row(`(d) first packet to a ClusterIP, p50, ${n(size)} Services`, fp, (f) => fmtMs(f.clusterIP.p50)));
    rows.push(row(`(d) first packet to a ClusterIP, p99, ${n(size)} Services`, fp, (f) => fmtMs(f.clusterIP.p99)));
  }
  return rows;
}

function renderTable(rows: readonly Row[], modes: readonly Mode[]): string {
  const header = ['figure', ...MODES, 'target', 'verdict'];
  const lines = rows.map((r) => [r.figure, ...MODES.map((m) => r.cells[m] ?? (modes.includes(m) ? '-' : 'not run')), r.target, verdictOf(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmtLine = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i >= 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [fmtLine(header), `|${widths.map((w, i) => (i === 0 || i >= 3 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`, ...lines.map(fmtLine)].join('\n');
}

// ---- main ---------------------------------------------------------------------------------------

/** Runs one part for one mode; an error is recorded (and printed) instead of ending the run, unless interrupted. */
async function attempt<T>(what: string, work: () => Promise<T>): Promise<T | string> {
  try {
    return await work();
  } catch (err) {
    if (interruptedBy()) throw err;
    return recordFailure(what, err as Error);
  }
}

async function benchNamespacesLeft(): Promise<string[]> {
  const { stdout } = await execa('ip', ['netns', 'list']);
  return stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('kn.bench-scale'));
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      modes: { type: 'string', default: MODES.join(',') },
      deletions: { type: 'string' },
      samples: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const plan = { ...(values.quick ? QUICK : FULL) };
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1 || v > 10_000) throw new Error(`--${name} wants an integer from 1 to 10000, not "${raw}"`);
    return v;
  };
  plan.deletions = positive('deletions', values.deletions, plan.deletions);
  plan.samples = positive('samples', values.samples, plan.samples);
  const modes = values.modes.split(',') as Mode[];
  if (!modes.length || modes.some((m) => !MODES.includes(m))) throw new Error(`--modes wants iptables, nftables or both, not "${values.modes}"`);
  return { plan, modes: MODES.filter((m) => modes.includes(m)), json: values.json, quick: values.quick };
}

async function main(): Promise<void> {
  const { plan, modes, json, quick } = parseOptions();
  if (process.getuid?.() !== 0) throw new Error('needs root (labs, network namespaces, iptables-restore and nft)');
  const tag = process.pid.toString(36);
  const scratch = new Scratch();
  const loadBefore = loadSummary();
  const say = json ? log : (line: string) => console.log(line); // with --json, stdout holds the JSON object alone
  say(`load before: ${loadBefore}`);
  const results: Results = { syncs: {}, serviceLabs: {}, pods: {} };
  const started = performance.now();
  try {
    log(`(a) full sync and one-Service update, one node, sizes ${plan.syncSizes.join(', ')}`);
    for (const size of plan.syncSizes) {
      results.syncs[size] = {};
      for (const mode of modes) {
        const r = await attempt(`(a) ${mode} at ${size}`, () => measureSyncs[mode](size));
        results.syncs[size]![mode] = r;
        if (typeof r !== 'string') log(`   ${mode} ${size}: full ${fmtMs(r.fullMs)} (render ${fmtMs(r.fullRenderMs)}, ${r.fullTransactions} transactions); update ${fmtMs(r.updateMs)} live (render ${fmtMs(r.updateRenderMs)})${r.updateCleanupMs ? `, cleanup ${fmtMs(r.updateCleanupMs)} after` : ''}`);
      }
    }
    log(`(b) and (d): a 3-node lab per mode: first packet at ${plan.latencyServices[0]}, deletions at ${plan.convergenceServices}, first packet at ${plan.latencyServices[1]} Services`);
    for (const mode of modes) results.serviceLabs[mode] = await attempt(`(b)/(d) ${mode}`, () => measureServiceLab(mode, plan, scratch, tag));
    log(`(c) up and down of ${plan.pods} pods on 4 nodes`);
    const manifest = scratch.write(`pods-${plan.pods}.yaml`, podManifest(plan.pods));
    for (const mode of modes) {
      const r = await attempt(`(c) ${mode}`, () => measurePods(mode, plan.pods, manifest, scratch, tag));
      results.pods[mode] = r;
      if (typeof r !== 'string') log(`   ${mode}: up ${fmtMs(r.upMs)}, agent RSS ${r.rssMiB.toFixed(0)} MiB, random pod ${r.answered ? 'answered' : 'DID NOT ANSWER'}, down ${fmtMs(r.downMs)}, left: ${r.leftovers.join(', ') || 'nothing'}`);
    }
  } finally {
    await downAll();
    await deleteAllNamespaces();
    scratch.remove();
  }
  const left = await benchNamespacesLeft();
  const rows = tableRows(plan, results);
  const loadAfter = loadSummary();
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  if (json) {
    console.log(JSON.stringify({ quick, modes, plan, load: { before: loadBefore, after: loadAfter }, minutes: Number(minutes), targets: TARGETS, results, namespacesLeft: left, failures, table: rows.map((r) => ({ ...r, verdict: verdictOf(r) })) }, null, 2));
  } else {
    console.log(`${quick ? 'quick run' : 'full run'} in ${minutes} min; modes: ${modes.join(', ')}; ${plan.deletions} deletions, ${plan.samples} connections a first-packet figure`);
    console.log(renderTable(rows, modes));
    console.log(`kn.bench-scale-* namespaces left: ${left.length ? left.join(', ') : 'none'}`);
  }
  say(`load after: ${loadAfter}`);
  for (const f of failures) say(`error: ${f}`);
  if (left.length || failures.length || rows.some((r) => verdictOf(r).startsWith('FAIL'))) process.exitCode = 1;
}

stopOnSignals();

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interruptedBy() ? 130 : 1;
});
