// Measures what a student waits for and what a lab costs, on this machine: `up` to the first pod
// answering, `down`, `up`/`apply` of 200 pods and the agent's memory per pod. It exists so that
// the targets knetlab promises (first answer under 1 s, 200 pods under 5 s, under 1 MB a pod) are
// figures anyone can re-measure with one command, not claims. See test/bench/README.md.
//
//   node --import tsx test/bench/up.ts [--runs N] [--json]
//
// Needs root and a built CLI (`npm run build`). Every lab it makes is named `bench-*` and is
// taken down at the end, also on error or Ctrl-C.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { agentRssKiB, checkNotInterrupted, down, downAll, interruptedBy, knetlab, loadSummary, podManifest, ROOT, stopOnSignals, timed, up as upLab } from './lib.js';

const HELLO = join(ROOT, 'examples/hello.yaml');
const POD_COUNT = 200;
const TARGETS = { firstAnswerMs: 1000, up200Ms: 5000, kibPerPod: 1024 };
const POLL_TIMEOUT_MS = 30_000;

// ---- labs (test/bench/lib.ts) --------------------------------------------------------------------

/** `up --json`; returns the IP of each pod it applied (up reports where every pod runs). */
async function up(lab: string, args: string[] = []): Promise<Map<string, string>> {
  const { applied } = JSON.parse(await upLab(lab, args)) as { applied: { name: string; podIP?: string }[] };
  return new Map(applied.filter((a) => a.podIP).map((a) => [a.name, a.podIP!]));
}

async function podIPs(lab: string): Promise<Map<string, string>> {
  const { stdout } = await knetlab(['get', 'pods', '--lab', lab, '-o', 'json']);
  const list = JSON.parse(stdout) as { items: { metadata: { name: string }; status?: { podIP?: string } }[] };
  return new Map(list.items.filter((p) => p.status?.podIP).map((p) => [p.metadata.name, p.status!.podIP!]));
}

async function podIP(lab: string, pod: string): Promise<string> {
  const ip = (await podIPs(lab)).get(pod);
  if (!ip) throw new Error(`pod ${pod} in lab ${lab} has no IP`);
  return ip;
}

/** curl from inside one pod's namespace until the body is `expected`; throws after POLL_TIMEOUT_MS. */
async function waitForAnswer(lab: string, fromPod: string, url: string, expected: string): Promise<void> {
  const netns = `kn.${lab}.pod.default.${fromPod}`;
  const deadline = performance.now() + POLL_TIMEOUT_MS;
  for (;;) {
    checkNotInterrupted();
    const { stdout } = await execa('ip', ['netns', 'exec', netns, 'curl', '-s', '--max-time', '1', url], { reject: false });
    if (stdout === expected) return;
    if (performance.now() > deadline) throw new Error(`${url} from ${fromPod} did not answer "${expected}" (last: "${stdout}")`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---- figures ------------------------------------------------------------------------------------

interface Stats { median: number; min: number; max: number }

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

// ---- the three measurements ---------------------------------------------------------------------

/** `up` of the default lab with hello.yaml until hello-1 gets "hello-2" back, then `down`. */
async function measureFirstAnswer(lab: string, runs: number) {
  const rows: { upMs: number; answerMs: number; downMs: number }[] = [];
  await down(lab); // a fresh lab, whatever an earlier run left
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const ips = await up(lab, ['-f', HELLO]);
    const upMs = performance.now() - start;
    const ip = ips.get('hello-2');
    if (!ip) throw new Error('up did not report an IP for hello-2');
    await waitForAnswer(lab, 'hello-1', `http://${ip}:8080/hostname`, 'hello-2');
    const answerMs = performance.now() - start;
    const { ms: downMs } = await timed(() => down(lab));
    rows.push({ upMs, answerMs, downMs });
    log(`  run ${i + 1}/${runs}: up ${fmt(upMs)}, first answer ${fmt(answerMs)}; down ${fmt(downMs)}`);
  }
  return {
    runs: rows,
    upCommand: stats(rows.map((r) => r.upMs)),
    firstAnswer: stats(rows.map((r) => r.answerMs)),
    down: stats(rows.map((r) => r.downMs)),
  };
}

/** One random pod of the lab (not p-1) answers /hostname with its own name, asked from p-1. */
async function checkRandomPod(lab: string): Promise<{ pod: string; ok: boolean }> {
  const pod = `p-${2 + Math.floor(Math.random() * (POD_COUNT - 1))}`;
  const ip = await podIP(lab, pod);
  const ok = await waitForAnswer(lab, 'p-1', `http://${ip}:8080/hostname`, pod).then(
    () => true,
    () => (checkNotInterrupted(), false),
  );
  return { pod, ok };
}

/** `up -f` of 200 pods into a fresh lab. */
async function measureUp200(lab: string, manifest: string) {
  await down(lab);
  const { ms: upMs } = await timed(() => up(lab, ['-f', manifest]));
  const check = await checkRandomPod(lab);
  const rssKiB = await agentRssKiB(lab);
  const { ms: downMs } = await timed(() => down(lab));
  return { upMs, randomPod: check, agentRssKiB: rssKiB, downMs };
}

/** An empty lab's agent RSS, then `apply -f` of 200 pods and the RSS again. */
async function measureApply200(lab: string, manifest: string) {
  await down(lab);
  await up(lab);
  const rss0KiB = await agentRssKiB(lab);
  const { ms: applyMs } = await timed(() => knetlab(['apply', '--lab', lab, '-f', manifest]));
  const rss200KiB = await agentRssKiB(lab);
  const randomPod = await checkRandomPod(lab);
  await down(lab);
  return { rss0KiB, rss200KiB, kibPerPod: (rss200KiB - rss0KiB) / POD_COUNT, applyMs, randomPod };
}

// ---- report -------------------------------------------------------------------------------------

let quiet = false;
const log = (line: string) => void (quiet || console.log(line));
const fmt = (ms: number) => `${Math.round(ms)} ms`;
const fmtStats = (s: Stats) => `median ${fmt(s.median)} (min ${fmt(s.min)}, max ${fmt(s.max)})`;
const verdict = (ok: boolean, what: string) => `${ok ? 'PASS' : 'FAIL'}  ${what}`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, not "${values.runs}"`);
  quiet = values.json;
  const tag = process.pid.toString(36);
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-bench-'));
  const manifest = join(dir, `pods-${POD_COUNT}.yaml`);
  writeFileSync(manifest, podManifest(POD_COUNT));

  const loadBefore = loadSummary();
  log(`load before: ${loadBefore}`);
  try {
    log(`1. up (default lab: 1 server + 2 agents, 6 hello pods) until hello-1 gets an answer from hello-2, ${runs} runs`);
    const first = await measureFirstAnswer(`bench-up-${tag}`, runs);
    log(`   up command alone:     ${fmtStats(first.upCommand)}`);
    log(`   up to first answer:   ${fmtStats(first.firstAnswer)}  (includes \`get pods -o json\` for the IP and the curl poll)`);
    log('   for context, not measured here: k3d ~33 s and kind ~47 s to a comparable first answer (figures from the issue)');
    log(`2. down of that lab:     ${fmtStats(first.down)}`);

    log(`3. ${POD_COUNT} pods`);
    const up200 = await measureUp200(`bench-200-${tag}`, manifest);
    log(`   up -f ${POD_COUNT} pods:        ${fmt(up200.upMs)}  (agent RSS after: ${up200.agentRssKiB} KiB; down: ${fmt(up200.downMs)})`);
    log(`   random pod ${up200.randomPod.pod} /hostname: ${up200.randomPod.ok ? 'answered' : 'DID NOT ANSWER'}`);
    const apply200 = await measureApply200(`bench-apply-${tag}`, manifest);
    log(`   apply -f ${POD_COUNT} pods:     ${fmt(apply200.applyMs)}  (into a running lab with 0 pods)`);
    log(`   agent RSS:            ${apply200.rss0KiB} KiB with 0 pods, ${apply200.rss200KiB} KiB with ${POD_COUNT} -> ${apply200.kibPerPod.toFixed(1)} KiB a pod`);
    log(`   random pod ${apply200.randomPod.pod} /hostname: ${apply200.randomPod.ok ? 'answered' : 'DID NOT ANSWER'}`);

    const verdicts = [
      verdict(first.firstAnswer.median < TARGETS.firstAnswerMs, `first answer median ${fmt(first.firstAnswer.median)} < ${fmt(TARGETS.firstAnswerMs)}`),
      verdict(up200.upMs < TARGETS.up200Ms, `up of ${POD_COUNT} pods ${fmt(up200.upMs)} < ${fmt(TARGETS.up200Ms)}`),
      verdict(apply200.kibPerPod < TARGETS.kibPerPod, `agent memory ${apply200.kibPerPod.toFixed(1)} KiB a pod < ${TARGETS.kibPerPod} KiB`),
      verdict(up200.randomPod.ok && apply200.randomPod.ok, `random pods answer /hostname (${up200.randomPod.pod}, ${apply200.randomPod.pod})`),
    ];
    const loadAfter = loadSummary();
    log(`load after: ${loadAfter}`);
    log('Verdict:');
    for (const v of verdicts) log(`   ${v}`);
    if (values.json) console.log(JSON.stringify({ runs, load: { before: loadBefore, after: loadAfter }, targets: TARGETS, firstAnswer: first, up200, apply200, verdicts }, null, 2));
    if (verdicts.some((v) => v.startsWith('FAIL'))) process.exitCode = 1;
  } finally {
    await downAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

stopOnSignals();

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interruptedBy() ? 130 : 1;
});
