// Seeing what the kernel did, end to end on a real lab with examples/web.yaml (three web pods
// behind a NodePort Service): after curls to the ClusterIP from the server node, `conntrack
// --svc web` shows the ClusterIP in each original tuple and a web pod's IP in the reply tuple,
// annotated as a DNAT to that pod; `graph` draws every node, pod and Service, and its DOT
// passes Graphviz's `dot -Tsvg` (skipped only outside CI when Graphviz is not installed).
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import { e2e, getPods, knetlab, ok, ROOT, useLab } from '../helpers/lab.js';

const WEB = `${ROOT}examples/web.yaml`;

interface Entry {
  protocol: string;
  original: { src: string; dst: string; sport?: number; dport?: number };
  reply: { src: string; dst: string; sport?: number; dport?: number };
  service?: { namespace: string; name: string; via: string };
  dnat?: { address: string; ip: string; port?: number; pod?: string };
  snat?: { address: string };
}

async function clusterIP(t: ExecutionContext, lab: string, name: string, namespace = 'default'): Promise<string> {
  const r = await ok(t, ['get', 'svc', name, '-n', namespace, '--lab', lab, '-o', 'json']);
  return (JSON.parse(r.stdout) as { spec: { clusterIP: string } }).spec.clusterIP;
}

async function dotInstalled(): Promise<boolean> {
  return (await execa('dot', ['-V'], { reject: false })).exitCode === 0;
}

e2e('conntrack --svc web after curls from the server: the ClusterIP in the original tuple, a web pod in the reply (DNAT)', async (t) => {
  const lab = useLab(t, 'obs-ct');
  await ok(t, ['up', '--lab', lab, '-f', WEB]);
  const pods = (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-'));
  t.is(pods.length, 3);
  const podByIP = new Map(pods.map((p) => [p.status.podIP, p.metadata.name]));
  const ip = await clusterIP(t, lab, 'web');
  const curl = await ok(t, ['curl', '--lab', lab, 'svc/web/hostname', '-n', '6']);
  t.regex(curl.stdout, /6\/6 requests/);

  const r = await ok(t, ['conntrack', '--lab', lab, '--svc', 'web', '-o', 'json']);
  const report = JSON.parse(r.stdout) as { node: string; service: string; entries: Entry[] };
  t.is(report.node, 'server');
  t.is(report.service, 'default/web');
  const toClusterIP = report.entries.filter((e) => e.protocol === 'tcp' && e.original.dst === ip && e.original.dport === 80);
  t.true(toClusterIP.length >= 6, `expected the 6 curls in the table, got ${toClusterIP.length}:\n${r.stdout}`);
  for (const e of toClusterIP) {
    t.true(podByIP.has(e.reply.src), `reply from ${e.reply.src}, a web pod`);
    t.is(e.reply.sport, 8080);
    t.deepEqual(e.service, { namespace: 'default', name: 'web', via: 'ClusterIP' });
    t.like(e.dnat, { ip: e.reply.src, address: `${e.reply.src}:8080`, pod: podByIP.get(e.reply.src) });
  }
  // --svc keeps only that Service's connections (its ClusterIP or a NodePort on a node).
  t.true(report.entries.every((e) => e.service?.name === 'web'));

  const table = await ok(t, ['conntrack', '--lab', lab, '--svc', 'web']);
  t.regex(table.stdout, /ORIGINAL \(SRC -> DST\)\s+REPLY \(SRC -> DST\)/);
  t.regex(table.stdout, new RegExp(`-> ${ip.replace(/\./g, '\\.')}:80 \\(svc web\\)\\s+10\\.42\\.\\d+\\.\\d+:8080 -> `));
  t.regex(table.stdout, /DNAT to pod 10\.42\.\d+\.\d+:8080 \(web-/);

  const missing = await knetlab(['conntrack', '--lab', lab, '--svc', 'no-such-svc']);
  t.is(missing.exitCode, 2, missing.stderr);
  t.regex(missing.stderr, /service "no-such-svc" not found/);
});

e2e('graph: mermaid names every node, pod and service; dot passes `dot -Tsvg`', async (t) => {
  const lab = useLab(t, 'obs-graph');
  await ok(t, ['up', '--lab', lab, '-f', WEB]);
  const status = JSON.parse((await ok(t, ['status', '--lab', lab, '-o', 'json'])).stdout) as { nodes: { name: string; ip: string; podCIDR: string }[] };
  const pods = JSON.parse((await ok(t, ['get', 'pods', '-A', '--lab', lab, '-o', 'json'])).stdout) as { items: { metadata: { name: string; namespace: string }; status: { podIP: string } }[] };
  const services = JSON.parse((await ok(t, ['get', 'svc', '-A', '--lab', lab, '-o', 'json'])).stdout) as { items: { metadata: { name: string; namespace: string }; spec: { clusterIP: string } }[] };
  t.true(pods.items.some((p) => p.metadata.namespace !== 'default'), 'CoreDNS runs in kube-system');

  const mermaid = (await ok(t, ['graph', '--lab', lab, '--format', 'mermaid'])).stdout;
  t.regex(mermaid, /^flowchart LR$/m);
  t.is((mermaid.match(/^\s*subgraph /gm) ?? []).length, (mermaid.match(/^\s*end$/gm) ?? []).length);
  for (const n of status.nodes) {
    t.true(mermaid.includes(`node ${n.name} `) && mermaid.includes(n.ip) && mermaid.includes(n.podCIDR), `node ${n.name}`);
  }
  for (const p of pods.items) {
    const shown = p.metadata.namespace === 'default' ? p.metadata.name : `${p.metadata.namespace}/${p.metadata.name}`;
    t.is(mermaid.split(`"${shown}<br/>${p.status.podIP}`).length - 1, 1, `pod ${shown} once, with its IP`);
  }
  for (const s of services.items) {
    const shown = s.metadata.namespace === 'default' ? s.metadata.name : `${s.metadata.namespace}/${s.metadata.name}`;
    t.is(mermaid.split(`"svc ${shown} (`).length - 1, 1, `service ${shown} once`);
    t.true(mermaid.includes(`ClusterIP ${s.spec.clusterIP}`), `ClusterIP of ${shown}`);
  }
  t.is((mermaid.match(/^\s*svc__default__web -->/gm) ?? []).length, 3, 'web points at its three pods');

  const dot = (await ok(t, ['graph', '--lab', lab, '--format', 'dot'])).stdout;
  t.regex(dot, /^digraph knetlab \{$/m);
  if (await dotInstalled()) {
    const svg = await execa('dot', ['-Tsvg'], { input: dot, reject: false });
    t.is(svg.exitCode, 0, svg.stderr);
    t.regex(svg.stdout, /<svg/);
    t.regex((await ok(t, ['graph', '--lab', lab, '--format', 'svg'])).stdout, /^<\?xml[\s\S]*<\/svg>\s*$/);
  } else if (process.env.CI) t.fail('Graphviz `dot` is not installed, and CI must run this check (apt-get install graphviz)');
  else t.log('skipped `dot -Tsvg`: Graphviz is not installed (apt-get install graphviz)');

  const model = JSON.parse((await ok(t, ['graph', '--lab', lab, '-o', 'json'])).stdout) as { nodes: unknown[]; services: unknown[] };
  t.is(model.nodes.length, status.nodes.length);
  t.is(model.services.length, services.items.length);
});
