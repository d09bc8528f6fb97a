// `knetlab trace` at the kernel's edge: start `nft monitor trace` in every node, add the TRACE
// rules, send the one request, let the last events arrive, read the connection's conntrack
// entries and the iptables rules behind the traced nft handles, and, whatever happened, remove
// the rules and stop the monitors. Everything observed is kept as a TraceCapture; the report is
// a pure function of it (report.ts), so a saved capture replays without root.
//
// Meant to run in the agent (POST /apis/knetlab.io/v1/trace), which outlives a CLI killed mid-way;
// the agent also calls sweepTraceRules at start and every few seconds for rules a crash left.
import { performance } from 'node:perf_hooks';
import { randomClientPort, routeLookup, sendRequest } from './client.js';
import { readRuleInfo } from './comments.js';
import { readConnection } from './conntrack.js';
import { startMonitors, stopMonitors } from './monitor.js';
import { buildReport, type TraceResult } from './report.js';
import { insertTraceRules, removeTraceRules, traceRules } from './rules.js';
import type { TraceCapture, TraceDeps, TraceRequest } from './types.js';

export { sweepTraceRules } from './rules.js';

export interface TraceOutcome {
  result: TraceResult;
  capture: TraceCapture;
}

/** After the answer, the last events (FIN, trailing ACKs) are waited for: until the monitors have been quiet this long... */
const QUIET_MS = 100;
/** ...but no longer than this. */
const SETTLE_MS = 300;

export async function runTrace(deps: TraceDeps, request: TraceRequest): Promise<TraceOutcome> {
  const clientPort = request.clientPort ?? randomClientPort();
  const timeoutMs = request.timeoutMs ?? 2000;
  const lookup = await routeLookup(request.from.netns, request.to.ip);
  // The kernel picks the source address from the route (a node sending to a ClusterIP uses its
  // eth0 address); the TRACE rules must name the same one.
  const clientIP = lookup.src ?? request.from.ip;
  const capture: TraceCapture = {
    request: { ...request, from: { ...request.from, ip: clientIP }, clientPort },
    nodes: deps.nodes,
    client: { ok: false, exitCode: -1 },
    lines: [],
    conntrack: [],
    rules: [],
  };
  if (lookup.route) capture.route = lookup.route;
  else if (lookup.error) capture.route = `no route: ${lookup.error}`;

  const t0 = performance.now();
  const monitors = await startMonitors(deps.nodes, t0);
  const rules = traceRules(deps.nodes, { protocol: request.protocol, client: { ip: clientIP, port: clientPort }, endpoints: request.endpoints });
  try {
    await insertTraceRules(deps.nodes, rules);
    capture.client = await sendRequest(request.from.netns, request.protocol, request.to, clientPort, timeoutMs);
    await settle(monitors.lines);
    const handles = handlesByNode(monitors.lines);
    const [conntrack, info] = await Promise.all([
      readConnection(deps.nodes, request.protocol, { ip: clientIP, port: clientPort }),
      Promise.all(deps.nodes.filter((n) => handles.has(n.name)).map((n) => readRuleInfo(n, (table, handle) => handles.get(n.name)!.has(`${table} ${handle}`)))),
    ]);
    capture.conntrack = conntrack;
    capture.rules = info.flat();
  } finally {
    try {
      await removeTraceRules(deps.nodes, rules);
    } finally {
      await stopMonitors(monitors);
    }
  }
  capture.lines = monitors.lines;
  return { result: buildReport(capture), capture };
}

async function settle(lines: TraceCapture['lines']): Promise<void> {
  const start = performance.now();
  let seen = lines.length;
  let quietSince = start;
  while (performance.now() - start < SETTLE_MS) {
    await new Promise((r) => setTimeout(r, 20));
    if (lines.length !== seen) {
      seen = lines.length;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= QUIET_MS) return;
  }
}

/** Which `table handle` pairs each node's trace mentions. */
function handlesByNode(lines: TraceCapture['lines']): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const { node, line } of lines) {
    const m = /^trace id \S+ ip (\S+) \S+ .*(?:# handle|unknown rule handle) (\d+)/.exec(line);
    if (!m) continue;
    if (!found.has(node)) found.set(node, new Set());
    found.get(node)!.add(`${m[1]} ${m[2]}`);
  }
  return found;
}
