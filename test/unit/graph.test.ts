// `knetlab graph`'s pure parts: the topology model built from a real lab's status and objects
// (test/fixtures/graph/lab.json: three nodes, web.yaml's Deployment and NodePort Service, CoreDNS,
// a pod and Service in namespace shop, a Service without endpoints), its Mermaid and DOT text as
// golden files (UPDATE_GOLDEN=1 rewrites them), a structural check of the Mermaid, and the DOT
// through Graphviz's `dot -Tsvg` (skipped only outside CI when Graphviz is not installed).
import test from 'ava';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDot } from '../../src/graph/dot.js';
import { escapeMermaid, renderMermaid } from '../../src/graph/mermaid.js';
import { buildTopology, IdAllocator, type GraphInput, type TopologyModel } from '../../src/graph/model.js';
import { formatForFile, GraphvizMissingError, renderWithDot } from '../../src/graph/output.js';
import { matchesGolden } from '../helpers/golden.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/graph/lab.json', import.meta.url));
const input = () => JSON.parse(readFileSync(FIXTURE, 'utf8')) as GraphInput;
const model = buildTopology(input());

/** A second input with what the real lab lacked: a pending pod, a not-ready pod, a headless Service, an endpoint off the lab, awkward names. */
function oddInput(): GraphInput {
  const i = input();
  const [first] = i.pods;
  i.pods.push({ ...first!, metadata: { name: 'pending', namespace: 'a-b' }, spec: { containers: [] }, status: { phase: 'Pending' } });
  i.pods.push({ ...first!, metadata: { name: 'b-pending', namespace: 'a' }, spec: { nodeName: 'server', containers: [] }, status: { phase: 'Running', podIP: '10.42.0.9', conditions: [{ type: 'Ready', status: 'False' }] } });
  i.services.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [{ port: 5432 }] } });
  i.services.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { clusterIP: '10.43.0.99', ports: [{ port: 80 }] } });
  i.endpoints.push({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ext', namespace: 'default' }, subsets: [{ addresses: [{ ip: '203.0.113.7' }], ports: [{ port: 80 }] }] });
  i.status.lab = 'odd "lab" <#1> \\ & co';
  return i;
}

async function dotAvailable(): Promise<boolean> {
  return (await execa('dot', ['-V'], { reject: false })).exitCode === 0;
}

/** Runs `dot -Tsvg`; without Graphviz the test is skipped with a log line, except in CI. */
async function checkWithDot(t: import('ava').ExecutionContext, dot: string): Promise<void> {
  if (!(await dotAvailable())) {
    if (process.env.CI) return void t.fail('Graphviz `dot` is not installed, and CI must run this check (apt-get install graphviz)');
    t.log('skipped: Graphviz `dot` is not installed (apt-get install graphviz)');
    return void t.pass();
  }
  const r = await execa('dot', ['-Tsvg'], { input: dot, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /<svg[\s\S]*<\/svg>/);
  t.is(r.stderr, '', 'dot printed warnings');
}

interface MermaidStructure {
  shapes: Map<string, string>;
  subgraphs: string[];
  edges: string[];
  problems: string[];
}

/** Reads the flowchart back: shape ids with their labels, subgraphs, edges, and anything unbalanced. */
function readMermaid(text: string): MermaidStructure {
  const s: MermaidStructure = { shapes: new Map(), subgraphs: [], edges: [], problems: [] };
  let depth = 0;
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('%%'));
  if (lines[0] !== 'flowchart LR') s.problems.push(`first line is "${lines[0]}"`);
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if ((line.match(/"/g) ?? []).length % 2) s.problems.push(`odd number of quotes: ${line}`);
    let m: RegExpExecArray | null;
    if ((m = /^subgraph ([A-Za-z0-9_]+)\["[^"]*"\]$/.exec(line))) {
      s.subgraphs.push(m[1]!);
      depth++;
    } else if (line === 'end') {
      if (--depth < 0) s.problems.push('"end" without a subgraph');
    } else if ((m = /^([A-Za-z0-9_]+) (-->|---)(?:\|"[^"]*"\|)? ([A-Za-z0-9_]+)$/.exec(line))) {
      s.edges.push(`${m[1]} ${m[2]} ${m[3]}`);
    } else if ((m = /^([A-Za-z0-9_]+)(\[\(|\(\[|\[\/|\[)"([^"]*)"(\)\]|\]\)|\/\]|\])$/.exec(line))) {
      if (s.shapes.has(m[1]!)) s.problems.push(`shape ${m[1]} defined twice`);
      s.shapes.set(m[1]!, m[3]!);
    } else if (!/^(direction (TB|LR)|classDef [a-z]+ \S.*|class [A-Za-z0-9_,]+ [a-z]+)$/.test(line)) s.problems.push(`unexpected line: ${line}`);
  }
  if (depth !== 0) s.problems.push(`${depth} subgraph(s) not closed`);
  for (const id of s.subgraphs) if (s.shapes.has(id)) s.problems.push(`id ${id} is both a subgraph and a shape`);
  if (new Set(s.subgraphs).size !== s.subgraphs.length) s.problems.push('a subgraph id is used twice');
  return s;
}

function checkStructure(t: import('ava').ExecutionContext, m: TopologyModel, text: string): void {
  const s = readMermaid(text);
  t.deepEqual(s.problems, []);
  const pods = [...m.nodes.flatMap((n) => n.pods), ...m.unscheduled];
  for (const n of m.nodes) t.true(s.shapes.get(n.id)?.includes(n.ip), `node ${n.name}`);
  for (const p of pods) t.true(s.shapes.get(p.id)?.includes(escapeMermaid(p.name)), `pod ${p.name}`);
  for (const v of m.services) t.true(s.shapes.get(v.id)?.includes(v.name), `service ${v.name}`);
  t.is(s.shapes.size, 1 + (m.lan.machine ? 1 : 0) + m.nodes.length * 2 + pods.length + m.services.length + m.externals.length);
  for (const e of m.edges) t.true(s.edges.includes(`${e.from} --> ${e.to}`), `edge ${e.from} -> ${e.to}`);
  t.is(s.edges.filter((e) => e.includes('-->')).length, m.edges.length);
  t.is(s.subgraphs.length, m.nodes.length + (m.services.length ? 1 : 0) + (m.unscheduled.length ? 1 : 0));
}

test('the model: nodes with their bridges, pods under their nodes, services with their ready endpoints', (t) => {
  t.deepEqual(model.lan, { id: 'lan', cidr: '192.168.100.0/24', bridge: 'br-lan', machine: { id: 'lan__machine', ip: '192.168.100.1' } });
  t.deepEqual(model.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.bridge.cidr, n.overlay?.cidr, n.pods.length]), [
    ['server', '192.168.100.10', '10.42.0.0/24', '10.42.0.1/24', '10.42.0.0/32', 2],
    ['agent-1', '192.168.100.11', '10.42.1.0/24', '10.42.1.1/24', '10.42.1.0/32', 2],
    ['agent-2', '192.168.100.12', '10.42.2.0/24', '10.42.2.1/24', '10.42.2.0/32', 1],
  ]);
  const web = model.services.find((s) => s.name === 'web')!;
  t.deepEqual(web.ports, [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'udp', port: 8081, protocol: 'UDP', nodePort: 31662 }]);
  const webEdges = model.edges.filter((e) => e.from === web.id);
  t.is(webEdges.length, 3);
  t.true(webEdges.every((e) => e.kind === 'pod' && e.ports.join() === '8080/TCP,8081/UDP'));
  // The kubernetes Service's endpoint is the server node itself.
  t.like(model.edges.find((e) => e.from === 'svc__default__kubernetes'), { to: 'node__server', kind: 'node', ip: '192.168.100.10' });
  t.is(model.services.find((s) => s.name === 'empty')?.ready, 0);
  t.deepEqual(model.unscheduled, []);
});

test('mermaid: golden file', (t) => {
  matchesGolden(t, '../graph/lab.mmd', renderMermaid(model));
});

test('dot: golden file', (t) => {
  matchesGolden(t, '../graph/lab.dot', renderDot(model));
});

test('mermaid: every node, pod and service once, every endpoint edge, balanced subgraphs, unique ids', (t) => {
  checkStructure(t, model, renderMermaid(model));
});

test('mermaid: odd cases and hostile text stay valid and escaped', (t) => {
  const odd = buildTopology(oddInput());
  const text = renderMermaid(odd);
  checkStructure(t, odd, text);
  t.is(odd.unscheduled.length, 1);
  t.like(odd.externals[0], { ip: '203.0.113.7' });
  t.true(text.includes('%% knetlab graph of lab odd "lab"'), 'the comment line may keep the raw text');
  t.regex(text, /subgraph unscheduled\["not on a node"\]/);
  t.regex(text, /headless \(no ClusterIP\)/);
  t.regex(text, /^  class [a-z_,]*\bpod__a__b_pending\b[a-z_,]* knnotready$/m);
  t.is(escapeMermaid('a"b#c<d>e&f'), 'a#34;b#35;c#60;d#62;e#38;f');
});

test('ids: letters, digits and "_" only, and unique even when names would collide', (t) => {
  const ids = new IdAllocator();
  t.is(ids.take('pod', 'a-b', 'c'), 'pod__a_b__c');
  t.is(ids.take('pod', 'a_b', 'c'), 'pod__a_b__c_2');
  const odd = buildTopology(oddInput());
  const all = [odd.lan.id, ...odd.nodes.flatMap((n) => [n.id, n.groupId, n.bridge.id]), ...[...odd.nodes.flatMap((n) => n.pods), ...odd.unscheduled].map((p) => p.id), ...odd.services.map((s) => s.id), ...odd.externals.map((x) => x.id)];
  t.is(new Set(all).size, all.length);
  t.true(all.every((id) => /^[A-Za-z][A-Za-z0-9_]*$/.test(id)));
});

test('dot: passes `dot -Tsvg`', async (t) => {
  await checkWithDot(t, renderDot(model));
});

test('dot: odd cases and hostile text pass `dot -Tsvg`', async (t) => {
  const text = renderDot(buildTopology(oddInput()));
  t.true(text.includes('label="knetlab lab odd \\"lab\\" <#1> \\\\ & co'));
  await checkWithDot(t, text);
});

test('svg without Graphviz: a clear error that names the install and --format dot', async (t) => {
  const err = await t.throwsAsync(renderWithDot('digraph {}', 'svg', 'knetlab-no-such-dot-program'), { instanceOf: GraphvizMissingError });
  t.is(err?.exitCode, 1);
  t.regex(err?.hint ?? '', /apt-get install graphviz/);
  t.regex(err?.hint ?? '', /--format dot/);
});

test('svg with Graphviz', async (t) => {
  if (!(await dotAvailable())) return void (process.env.CI ? t.fail('Graphviz is not installed') : (t.log('skipped: Graphviz `dot` is not installed'), t.pass()));
  t.regex(await renderWithDot(renderDot(model)), /^<\?xml[\s\S]*<svg[\s\S]*node server/);
});

test('the -o file extension picks the format', (t) => {
  t.deepEqual(['lab.dot', 'lab.GV', 'x/lab.svg', 'lab.mmd', 'lab.md', undefined].map(formatForFile), ['dot', 'dot', 'svg', 'mermaid', 'mermaid', 'mermaid']);
});
