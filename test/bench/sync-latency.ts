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
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { AgentClient } from '../../src/client.js';
import { endpointChainName } from '../../src/proxy/hash.js';
import type { List, Node, Pod } from '../../src/api/types.js';
import {
  checkMonitorLive,
  checkNotInterrupted,
  downAll,
  inNamespace as inNode,
  interruptedBy,
  loadSummary,
  percentiles,
  poll,
  ROOT,
  startMonitor,
  stopMonitors,
  stopOnSignals,
  up as upLab,
  waitForLine,
  waitForQuiet as waitForQuietFor,
  type Percentiles,
  type RulesMonitor,
} from './lib.js';

const WEB = join(ROOT, 'examples/web.yaml');
const REPLICAS = 3; // examples/web.yaml
const SERVICE_PORT_NAME = 'default/web:http';
const TARGET_PORT = 8080; // the pods' `http` containerPort
const TARGETS = { p50Ms: 100, p99Ms: 300 };
const KUBE_PROXY_MIN_SYNC_PERIOD_MS = 1000; // upstream default of --iptables-min-sync-period
const EVENT_TIMEOUT_MS = 3_000; // per deletion, for every node's monitor to print the chain deletion
const READY_TIMEOUT_MS = 20_000; // for the Deployment to be back at 3 pods, their chains everywhere
const QUIET_MS = 200; // no rule change on any node for this long before a deletion starts

// ---- the lab and the monitors (test/bench/lib.ts) ----------------------------------------------

async function up(lab: string, manifest: string): Promise<void> {
  await upLab(lab, ['-f', manifest]);
}

/** Waits until no node's rules changed for QUIET_MS, so a deletion does not queue behind another sync. */
const waitForQuiet = (monitors: RulesMonitor[]) => waitForQuietFor(monitors, QUIET_MS, READY_TIMEOUT_MS);

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

let quiet = false;
const log = (line: string) => void (quiet || console.log(line));
const fmt = (ms: number | undefined) => (ms === undefined ? 'not seen' : `${ms.toFixed(1)} ms`);
const fmtPercentiles = (p: Percentiles) => `p50 ${fmt(p.p50)}, p90 ${fmt(p.p90)}, p99 ${fmt(p.p99)}, max ${fmt(p.max)}`;
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

stopOnSignals();

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interruptedBy() ? 130 : 1;
});
