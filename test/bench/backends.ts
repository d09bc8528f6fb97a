// Measures what flannel's backend costs pod traffic between nodes, on this machine: request
// latency and bulk TCP throughput from a pod on one node to a pod on the other, under host-gw
// (plain routes) and vxlan (flannel.1, UDP 8472, pod MTU 1450), with a same-node pair as the
// baseline. Both backends are measured in one run, alternating, so that the vxlan/host-gw ratios
// compare figures taken on the same (shared, noisy) machine within the same minute. See
// test/bench/README.md.
//
//   node --import tsx test/bench/backends.ts [--reps N] [--requests N] [--megabytes N] [--transfers N] [--json]
//
// Needs root and a built CLI (`npm run build`). Every lab it makes is named `bench-net-*` and is
// taken down at the end, also on error or Ctrl-C; its own python3 and curl processes are killed
// by pid.
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin/run.js');
const BACKENDS = ['host-gw', 'vxlan'] as const;
type Backend = (typeof BACKENDS)[number];
const POD_MTU: Record<Backend, number> = { 'host-gw': 1500, vxlan: 1450 };
/** pod-a and pod-c on the server, pod-b on agent-1: a->b crosses nodes, a->c stays on one. */
const PODS = { a: { name: 'pod-a', node: 'server' }, b: { name: 'pod-b', node: 'agent-1' }, c: { name: 'pod-c', node: 'server' } };
const HTTP_PORT = 8080;
/** The bulk transfer's port in the receiving pod: no lab workload listens there. */
const BULK_PORT = 9000;
const POLL_TIMEOUT_MS = 30_000;
const TRANSFER_TIMEOUT_S = 60;

// ---- processes and labs (the discipline of up.ts) -----------------------------------------------

const liveLabs = new Set<string>();
/** The benchmark's own measuring processes (python3 receivers), killed by pid at the end. */
const liveProcs = new Set<ResultPromise>();
let interrupted: NodeJS.Signals | undefined;

function checkNotInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

/** The CLI runs in its own process group, so Ctrl-C lets a running `up` finish (see up.ts). */
function knetlab(args: string[]) {
  if (args[0] !== 'down') checkNotInterrupted();
  return execa(CLI, args, { cwd: ROOT, detached: true });
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

function killAll(): void {
  for (const proc of liveProcs) {
    if (proc.exitCode === null && proc.pid !== undefined) proc.kill('SIGKILL');
  }
  liveProcs.clear();
}

const netnsOf = (lab: string, pod: string) => `kn.${lab}.pod.default.${pod}`;
const nodeNetnsOf = (lab: string, node: string) => `kn.${lab}.node.${node}`;
const inNetns = (netns: string, cmd: string[], opts: { timeout?: number } = {}) => execa('ip', ['netns', 'exec', netns, ...cmd], opts);

// ---- the lab ------------------------------------------------------------------------------------

function configYaml(backend: Backend): string {
  return `flannel-backend: ${backend}
nodes:
  - name: server
    role: server
  - name: agent-1
    role: agent
`;
}

function manifestYaml(): string {
  return Object.values(PODS)
    .map(
      ({ name, node }) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${node}
  containers:
    - name: netexec
      image: registry.k8s.io/e2e-test-images/agnhost:2.53
      args: ["netexec", "--http-port=${HTTP_PORT}"]
      ports:
        - containerPort: ${HTTP_PORT}
          protocol: TCP
`,
    )
    .join('---\n');
}

interface Applied { name: string; nodeName?: string; podIP?: string }

/** `up --json` of a fresh 2-node lab; returns each pod's IP, after checking where it was placed. */
async function upLab(lab: string, config: string, manifest: string, backend: Backend): Promise<Record<'a' | 'b' | 'c', string>> {
  liveLabs.add(lab);
  const { stdout } = await knetlab(['up', '--lab', lab, '-c', config, '-f', manifest, '--json']);
  const out = JSON.parse(stdout) as { applied: Applied[]; status?: { config?: { flannelBackend?: string } } };
  const got = out.status?.config?.flannelBackend;
  if (got !== backend) throw new Error(`lab ${lab} runs flannel-backend ${got}, not ${backend}`);
  const ip = (key: keyof typeof PODS) => {
    const pod = out.applied.find((a) => a.name === PODS[key].name);
    if (!pod?.podIP) throw new Error(`up did not report an IP for ${PODS[key].name}`);
    if (pod.nodeName !== PODS[key].node) throw new Error(`${pod.name} runs on ${pod.nodeName}, not ${PODS[key].node}`);
    return pod.podIP;
  };
  return { a: ip('a'), b: ip('b'), c: ip('c') };
}

/** curl from inside pod-a until `url` answers `expected` (as in up.ts). */
async function waitForAnswer(lab: string, url: string, expected: string): Promise<void> {
  const deadline = performance.now() + POLL_TIMEOUT_MS;
  for (;;) {
    checkNotInterrupted();
    const { stdout } = await inNetns(netnsOf(lab, PODS.a.name), ['curl', '-s', '--max-time', '1', url], { timeout: 5000 }).catch(() => ({ stdout: '' }));
    if (stdout === expected) return;
    if (performance.now() > deadline) throw new Error(`${url} did not answer "${expected}" (last: "${stdout}")`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What shows the backend is the one asked for: pod-a's MTU and the server node's route to pod-b. */
async function backendFacts(lab: string, podB: string) {
  const mtu = Number((await inNetns(netnsOf(lab, PODS.a.name), ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim());
  const full = (await inNetns(nodeNetnsOf(lab, 'server'), ['ip', '-o', 'route', 'get', podB])).stdout.trim().replace(/\s+/g, ' ');
  const route = `${podB} ${/(via \S+ )?dev \S+/.exec(full)?.[0] ?? full}`;
  return { podMTU: mtu, route };
}

/** Bytes sent by the server node's flannel.1, or undefined when it has none (host-gw). */
async function vxlanTxBytes(lab: string): Promise<number | undefined> {
  const { stdout, exitCode } = await execa('ip', ['netns', 'exec', nodeNetnsOf(lab, 'server'), 'cat', '/sys/class/net/flannel.1/statistics/tx_bytes'], { reject: false });
  return exitCode === 0 ? Number(stdout.trim()) : undefined;
}

// ---- 1. request latency -------------------------------------------------------------------------

interface Latency { p50: number; p99: number; max: number; connects: number }

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * N sequential requests `GET /echo?msg=1..N` from pod-a to `ip`, by ONE curl process (URL
 * globbing), which keeps one connection alive: each `time_total` is one request and its answer,
 * with the TCP handshake only in the first. Every answer must be 200 with its own msg.
 */
async function measureLatency(lab: string, ip: string, requests: number): Promise<Latency> {
  checkNotInterrupted();
  const url = `http://${ip}:${HTTP_PORT}/echo?msg=[1-${requests}]`;
  const { stdout } = await inNetns(netnsOf(lab, PODS.a.name), ['curl', '-s', '--max-time', '120', '-w', ' %{http_code} %{num_connects} %{time_total}\n', url], { timeout: 130_000 });
  const lines = stdout.split('\n').filter(Boolean);
  if (lines.length !== requests) throw new Error(`curl to ${ip} printed ${lines.length} lines for ${requests} requests`);
  let connects = 0;
  const ms = lines.map((line, i) => {
    const [body, code, conns, seconds] = line.split(' ');
    if (body !== String(i + 1) || code !== '200') throw new Error(`request ${i + 1} to ${ip} answered "${line}"`);
    connects += Number(conns);
    return Number(seconds) * 1000;
  });
  ms.sort((x, y) => x - y);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms[ms.length - 1]!, connects };
}

// ---- 2. throughput ------------------------------------------------------------------------------

/** Accepts one connection, reads to EOF, acknowledges the byte count. Prints "ready", then JSON. */
const RECEIVER = `
import json, socket, sys, time
port, timeout = int(sys.argv[1]), float(sys.argv[2])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", port))
srv.listen(1)
srv.settimeout(timeout)
print("ready", flush=True)
conn, peer = srv.accept()
conn.settimeout(timeout)
view = memoryview(bytearray(1 << 20))
total, start = 0, None
while True:
    n = conn.recv_into(view)
    if start is None:
        start = time.perf_counter()
    if n == 0:
        break
    total += n
seconds = time.perf_counter() - start
conn.sendall(b"%d\\n" % total)
conn.close()
print(json.dumps({"bytes": total, "seconds": seconds, "peer": peer[0]}), flush=True)
`;

/**
 * Sends BYTES in 1 MB writes, half-closes, and waits for the receiver's count: the time runs from
 * the established connection to the acknowledgement that every byte arrived.
 */
const SENDER = `
import json, socket, sys, time
host, port, total, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
chunk = memoryview(bytes(1_000_000))
s = socket.create_connection((host, port), timeout=timeout)
mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
start = time.perf_counter()
sent = 0
while sent < total:
    n = min(len(chunk), total - sent)
    s.sendall(chunk[:n])
    sent += n
s.shutdown(socket.SHUT_WR)
ack = b""
while not ack.endswith(b"\\n"):
    data = s.recv(64)
    if not data:
        break
    ack += data
seconds = time.perf_counter() - start
s.close()
print(json.dumps({"bytes": sent, "acked": int(ack.strip() or b"-1"), "seconds": seconds, "mss": mss}), flush=True)
`;

interface Throughput { mbPerS: number; seconds: number; mss: number; overlayBytes?: number }

/** `bytes` from pod-a to the pod `to` (its IP `ip`), a python3 sender and receiver in their namespaces. */
async function measureThroughput(lab: string, to: string, ip: string, bytes: number): Promise<Throughput> {
  checkNotInterrupted();
  const receiver = execa('ip', ['netns', 'exec', netnsOf(lab, to), 'python3', '-c', RECEIVER, String(BULK_PORT), String(TRANSFER_TIMEOUT_S)], { timeout: (TRANSFER_TIMEOUT_S * 2 + 10) * 1000 });
  liveProcs.add(receiver);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver in ${to} not ready after 10 s`)), 10_000);
      receiver.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) (clearTimeout(timer), resolve());
      });
      receiver.catch((err: Error) => (clearTimeout(timer), reject(err)));
    });
    const overlayBefore = await vxlanTxBytes(lab);
    const sender = execa('ip', ['netns', 'exec', netnsOf(lab, PODS.a.name), 'python3', '-c', SENDER, ip, String(BULK_PORT), String(bytes), String(TRANSFER_TIMEOUT_S)], { timeout: (TRANSFER_TIMEOUT_S + 10) * 1000 });
    liveProcs.add(sender);
    const sent = JSON.parse((await sender).stdout) as { bytes: number; acked: number; seconds: number; mss: number };
    liveProcs.delete(sender);
    const overlayAfter = await vxlanTxBytes(lab);
    const got = JSON.parse((await receiver).stdout.split('\n').filter(Boolean).pop()!) as { bytes: number };
    if (sent.acked !== bytes || got.bytes !== bytes) throw new Error(`transfer to ${to}: sent ${sent.bytes}, acknowledged ${sent.acked}, received ${got.bytes} of ${bytes} bytes`);
    const overlayBytes = overlayBefore !== undefined && overlayAfter !== undefined ? overlayAfter - overlayBefore : undefined;
    return { mbPerS: bytes / 1e6 / sent.seconds, seconds: sent.seconds, mss: sent.mss, overlayBytes };
  } finally {
    if (receiver.exitCode === null) receiver.kill('SIGKILL');
    await receiver.catch(() => undefined);
    liveProcs.delete(receiver);
  }
}

// ---- one lab ------------------------------------------------------------------------------------

/** A pair's throughput in one lab: the median of its transfers (each MB/s kept in `runs`). */
interface PairThroughput { mbPerS: number; runs: number[]; mss: number; overlayBytes?: number[] }
interface PairResult { latency: Latency; throughput: PairThroughput }
interface LabResult {
  backend: Backend;
  rep: number;
  lab: string;
  load: number;
  podMTU: number;
  route: string;
  cross: PairResult;
  same: PairResult;
  checks: string[];
}

/** A lab that is up: its backend, pod IPs and what shows the backend is in place. */
interface LiveLab { backend: Backend; lab: string; ip: Record<'a' | 'b' | 'c', string>; podMTU: number; route: string }

/**
 * One repetition: a fresh lab per backend, both up at once (brought up in `order`), then every
 * measurement interleaved between them in that order, so that both backends see the same moments
 * of a noisy machine: latency (cross, same), then `transfers` rounds of bulk transfers (cross,
 * same). Both labs are taken down before it returns.
 */
async function measureRep(rep: number, order: readonly Backend[], labName: (b: Backend) => string, files: { configs: Record<Backend, string>; manifest: string }, opts: { requests: number; bytes: number; transfers: number }): Promise<LabResult[]> {
  const labs: LiveLab[] = [];
  for (const backend of order) {
    const lab = labName(backend);
    await down(lab); // a fresh lab, whatever an earlier run left
    const ip = await upLab(lab, files.configs[backend], files.manifest, backend);
    await waitForAnswer(lab, `http://${ip.b}:${HTTP_PORT}/hostname`, PODS.b.name);
    await waitForAnswer(lab, `http://${ip.c}:${HTTP_PORT}/hostname`, PODS.c.name);
    labs.push({ backend, lab, ip, ...(await backendFacts(lab, ip.b)) });
  }
  const load = loadavg()[0]!;
  const latency = new Map<LiveLab, { cross: Latency; same: Latency }>();
  for (const l of labs) {
    const cross = await measureLatency(l.lab, l.ip.b, opts.requests);
    const same = await measureLatency(l.lab, l.ip.c, opts.requests);
    latency.set(l, { cross, same });
  }
  const transfers = new Map<LiveLab, { cross: Throughput[]; same: Throughput[] }>(labs.map((l) => [l, { cross: [], same: [] }]));
  for (let i = 0; i < opts.transfers; i++) {
    for (const l of labs) {
      transfers.get(l)!.cross.push(await measureThroughput(l.lab, PODS.b.name, l.ip.b, opts.bytes));
      transfers.get(l)!.same.push(await measureThroughput(l.lab, PODS.c.name, l.ip.c, opts.bytes));
    }
  }
  for (const l of labs) await down(l.lab);
  return labs.map((l) => labResult(l, rep, load, latency.get(l)!, transfers.get(l)!, opts));
}

function labResult(l: LiveLab, rep: number, load: number, latency: { cross: Latency; same: Latency }, runs: { cross: Throughput[]; same: Throughput[] }, opts: { bytes: number; transfers: number }): LabResult {
  const summary = (ts: Throughput[]): PairThroughput => ({
    mbPerS: median(ts.map((t) => t.mbPerS)),
    runs: ts.map((t) => t.mbPerS),
    mss: ts[0]!.mss,
    ...(ts[0]!.overlayBytes !== undefined && { overlayBytes: ts.map((t) => t.overlayBytes!) }),
  });
  const cross = summary(runs.cross);
  const same = summary(runs.same);
  const checks: string[] = [];
  if (l.podMTU !== POD_MTU[l.backend]) checks.push(`pod MTU ${l.podMTU}, expected ${POD_MTU[l.backend]}`);
  if ((l.backend === 'vxlan') !== l.route.includes('dev flannel.1')) checks.push(`server's route to pod-b is "${l.route}"`);
  const overlay = cross.overlayBytes ?? [];
  if (l.backend === 'vxlan' && !(overlay.length === opts.transfers && overlay.every((b) => b >= opts.bytes))) checks.push(`flannel.1 sent ${overlay.join(', ')} bytes during the ${opts.bytes}-byte cross-node transfers`);
  if (same.overlayBytes?.some((b) => b >= opts.bytes)) checks.push(`flannel.1 carried a same-node transfer (${same.overlayBytes.join(', ')} bytes)`);
  if (l.backend === 'host-gw' && cross.overlayBytes !== undefined) checks.push('host-gw lab has a flannel.1');
  for (const what of ['cross', 'same'] as const) {
    if (latency[what].connects !== 1) checks.push(`${what}-node curl opened ${latency[what].connects} connections, not 1`);
  }
  return {
    backend: l.backend, rep, lab: l.lab, load, podMTU: l.podMTU, route: l.route,
    cross: { latency: latency.cross, throughput: cross },
    same: { latency: latency.same, throughput: same },
    checks,
  };
}

// ---- report -------------------------------------------------------------------------------------

let quiet = false;
const log = (line: string) => void (quiet || console.log(line));

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function loadSummary(): string {
  const [one] = loadavg();
  const cores = availableParallelism();
  return `1-min load average ${one!.toFixed(2)} on ${cores} cores${one! > cores ? ' (busy: figures are pessimistic)' : ''}`;
}

const FIGURES = [
  { key: 'crossP50', label: 'cross-node latency p50', unit: 'ms', get: (r: LabResult) => r.cross.latency.p50 },
  { key: 'crossP99', label: 'cross-node latency p99', unit: 'ms', get: (r: LabResult) => r.cross.latency.p99 },
  { key: 'crossMBps', label: 'cross-node throughput', unit: 'MB/s', get: (r: LabResult) => r.cross.throughput.mbPerS },
  { key: 'sameP50', label: 'same-node latency p50', unit: 'ms', get: (r: LabResult) => r.same.latency.p50 },
  { key: 'sameP99', label: 'same-node latency p99', unit: 'ms', get: (r: LabResult) => r.same.latency.p99 },
  { key: 'sameMBps', label: 'same-node throughput', unit: 'MB/s', get: (r: LabResult) => r.same.throughput.mbPerS },
  // Each lab's cross-node figure over its own same-node baseline, taken seconds apart.
  { key: 'crossOverSameP50', label: 'cross/same latency p50', unit: 'x', get: (r: LabResult) => r.cross.latency.p50 / r.same.latency.p50 },
  { key: 'crossOverSameMBps', label: 'cross/same throughput', unit: 'x', get: (r: LabResult) => r.cross.throughput.mbPerS / r.same.throughput.mbPerS },
] as const;

const num = (v: number, unit: string) => (unit === 'ms' ? v.toFixed(3) : unit === 'x' ? v.toFixed(2) : v.toFixed(0));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '3' },
      requests: { type: 'string', default: '500' },
      megabytes: { type: 'string', default: '200' },
      transfers: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, raw: string, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} wants an integer from 1 to ${max}, not "${raw}"`);
    return n;
  };
  const reps = int('reps', values.reps, 20);
  const requests = int('requests', values.requests, 10_000);
  const bytes = int('megabytes', values.megabytes, 5_000) * 1e6;
  const transfers = int('transfers', values.transfers, 20);
  quiet = values.json;
  const tag = process.pid.toString(36);
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-bench-net-'));
  const manifest = join(dir, 'pods.yaml');
  writeFileSync(manifest, manifestYaml());
  const configs = Object.fromEntries(
    BACKENDS.map((b) => {
      const file = join(dir, `${b}.yaml`);
      writeFileSync(file, configYaml(b));
      return [b, file];
    }),
  ) as Record<Backend, string>;

  const loadBefore = loadSummary();
  log(`load before: ${loadBefore}`);
  log(`${reps} repetitions, each a fresh 2-node lab (server, agent-1) per backend, both up at once, measurements interleaved, order alternating between repetitions; pod-a, pod-c on server, pod-b on agent-1`);
  log(`latency: ${requests} sequential GET /echo by one curl process on one kept-alive connection; throughput: median of ${transfers} transfers of ${bytes / 1e6} MB pod-a -> pod per lab, python3 on port ${BULK_PORT}`);
  const results: LabResult[] = [];
  try {
    for (let rep = 1; rep <= reps; rep++) {
      const order = rep % 2 ? BACKENDS : [...BACKENDS].reverse();
      const labs = await measureRep(rep, order, (b) => `bench-net-${tag}-${b}-${rep}`, { configs, manifest }, { requests, bytes, transfers });
      for (const r of labs) {
        results.push(r);
        log(
          `  rep ${rep} ${r.backend.padEnd(7)} (load ${r.load.toFixed(2)}, pod MTU ${r.podMTU}, MSS ${r.cross.throughput.mss}): ` +
            `cross p50/p99 ${num(r.cross.latency.p50, 'ms')}/${num(r.cross.latency.p99, 'ms')} ms, ${num(r.cross.throughput.mbPerS, 'MB/s')} MB/s; ` +
            `same p50/p99 ${num(r.same.latency.p50, 'ms')}/${num(r.same.latency.p99, 'ms')} ms, ${num(r.same.throughput.mbPerS, 'MB/s')} MB/s` +
            (r.checks.length ? `  CHECK FAILED: ${r.checks.join('; ')}` : ''),
        );
      }
    }
    const table = FIGURES.map((f) => {
      const of = (b: Backend) => median(results.filter((r) => r.backend === b).map(f.get));
      const hostGw = of('host-gw');
      const vxlan = of('vxlan');
      return { figure: f.key, label: f.label, unit: f.unit, hostGw, vxlan, ratio: vxlan / hostGw };
    });
    const routes = Object.fromEntries(BACKENDS.map((b) => [b, results.find((r) => r.backend === b)!.route]));
    log('');
    log(`medians over ${reps} labs per backend          host-gw       vxlan   vxlan/host-gw`);
    for (const row of table) {
      log(`  ${`${row.label} (${row.unit})`.padEnd(36)} ${num(row.hostGw, row.unit).padStart(10)}  ${num(row.vxlan, row.unit).padStart(10)}  ${row.ratio.toFixed(2).padStart(10)}`);
    }
    for (const b of BACKENDS) log(`  server's route to pod-b under ${b}: ${routes[b]}`);
    const loadAfter = loadSummary();
    log(`load after: ${loadAfter}`);
    const failed = results.flatMap((r) => r.checks.map((c) => `${r.lab}: ${c}`));
    log(failed.length ? `checks: ${failed.length} FAILED` : 'checks: backend, MTU, route, overlay bytes and one connection per curl as expected in every lab');
    if (values.json) console.log(JSON.stringify({ reps, requests, bytes, transfers, load: { before: loadBefore, after: loadAfter }, table, runs: results, failed }, null, 2));
    if (failed.length) process.exitCode = 1;
  } finally {
    killAll();
    await downAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!interrupted) console.error(`\n${signal}: finishing the running command, then taking down ${[...liveLabs].join(', ') || 'no labs'}`);
    interrupted = signal;
  });
}

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interrupted ? 130 : 1;
});
