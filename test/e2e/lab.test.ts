// The foundation, end to end against the real kernel: a lab comes up from a config and
// manifests, pods on different nodes reach each other without NAT, objects have kubectl's shape,
// `up` is idempotent, and `down` leaves nothing, even after the agent was killed.
import { join } from 'node:path';
import { e2e, ok, knetlab, useLab, getPods, curlInPod, leftovers, labNamespaces, ROOT, type PodJson, tempFile } from '../helpers/lab.js';
import { contains, parseCidr } from '../../src/ipam/cidr.js';

const HELLO = join(ROOT, 'examples/hello.yaml');


function podsManifest(names: string[]): string {
  return names
    .map((n) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${n}\n  labels: {app: web}\nspec:\n  containers:\n  - name: web\n    image: registry.k8s.io/e2e-test-images/agnhost:2.53\n    ports:\n    - containerPort: 8080\n`)
    .join('---\n');
}

/** One pod per node, so that every pair of nodes is covered. */
function onePerNode(pods: PodJson[]): PodJson[] {
  return [...new Map(pods.map((p) => [p.spec.nodeName, p])).values()];
}

e2e('the default lab with six pods: pods on different nodes answer each other without NAT', async (t) => {
  const lab = useLab(t, 'default');
  const up = await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  t.regex(up.stdout, /is up in [\d.]+ s/);
  const pods = await getPods(t, lab);
  t.is(pods.length, 6);
  t.deepEqual([...new Set(pods.map((p) => p.spec.nodeName))].sort(), ['agent-1', 'agent-2', 'server']);
  for (const a of pods) {
    for (const b of pods.filter((p) => p.spec.nodeName !== a.spec.nodeName)) {
      t.is(await curlInPod(lab, a.metadata.name, `http://${b.status.podIP}:8080/hostname`), b.metadata.name, `${a.metadata.name} -> ${b.metadata.name}`);
      t.is((await curlInPod(lab, a.metadata.name, `http://${b.status.podIP}:8080/clientip`)).split(':')[0], a.status.podIP, 'the pod sees its peer\'s own IP: no NAT');
    }
  }
});

e2e('four nodes with a custom cluster-cidr: eight pods spread over all nodes, every pair answers', async (t) => {
  const lab = useLab(t, 'four');
  const config = tempFile(
    'config.yaml',
    ['cluster-cidr: 10.77.0.0/16', 'service-cidr: 10.78.0.0/16', 'cluster-dns: 10.78.0.10', 'nodes:', '  - {name: server, role: server}', '  - {name: agent-1}', '  - {name: agent-2}', '  - {name: agent-3}', ''].join('\n'),
  );
  const manifest = tempFile('pods.yaml', podsManifest(Array.from({ length: 8 }, (_, i) => `web-${i + 1}`)));
  await ok(t, ['up', '--lab', lab, '-c', config, '-f', manifest]);
  const nodes = JSON.parse((await ok(t, ['get', 'nodes', '--lab', lab, '-o', 'json'])).stdout) as { items: { metadata: { name: string }; spec: { podCIDR: string } }[] };
  const cidrOf = new Map(nodes.items.map((n) => [n.metadata.name, n.spec.podCIDR]));
  t.deepEqual([...cidrOf.values()].sort(), ['10.77.0.0/24', '10.77.1.0/24', '10.77.2.0/24', '10.77.3.0/24']);
  const pods = await getPods(t, lab);
  t.is(pods.length, 8);
  for (const p of pods) {
    t.is(p.status.phase, 'Running');
    t.true(contains(parseCidr(cidrOf.get(p.spec.nodeName)!)!, p.status.podIP), `${p.metadata.name} ${p.status.podIP} lies in ${p.spec.nodeName}'s pod CIDR`);
  }
  const spread = onePerNode(pods);
  t.is(spread.length, 4, 'every node runs pods');
  for (const a of spread) {
    for (const b of spread.filter((p) => p !== a)) {
      const r = await ok(t, ['exec', '--lab', lab, a.metadata.name, '--', 'curl', '-s', '--max-time', '3', `http://${b.status.podIP}:8080/hostname`]);
      t.is(r.stdout, b.metadata.name, `${a.spec.nodeName} -> ${b.spec.nodeName}`);
      t.is((await curlInPod(lab, a.metadata.name, `http://${b.status.podIP}:8080/clientip`)).split(':')[0], a.status.podIP);
    }
  }
});

e2e('get pods -o json has kubectl\'s shape', async (t) => {
  const lab = useLab(t, 'json');
  await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  const list = JSON.parse((await ok(t, ['get', 'pods', '--lab', lab, '-o', 'json'])).stdout) as { apiVersion: string; kind: string; items: PodJson[] };
  t.is(list.apiVersion, 'v1');
  t.is(list.kind, 'List');
  for (const p of list.items) {
    t.like(p, { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default' }, status: { phase: 'Running' } } as never);
    t.regex(p.metadata.name, /^hello-\d$/);
    t.regex(p.metadata.uid, /^[0-9a-f-]{36}$/);
    t.truthy(p.spec.nodeName);
    t.regex(p.status.podIP, /^10\.42\.\d+\.\d+$/);
    t.regex(p.status.hostIP, /^192\.168\.100\.\d+$/);
  }
  const one = JSON.parse((await ok(t, ['get', 'pod', 'hello-1', '--lab', lab, '-o', 'json'])).stdout) as PodJson & { kind: string };
  t.is(one.kind, 'Pod');
  const missing = await knetlab(['get', 'pod', 'nosuch', '--lab', lab]);
  t.is(missing.exitCode, 1);
  t.regex(missing.stderr, /NotFound.*"nosuch" not found/);
});

e2e('up twice is the same as up once', async (t) => {
  const lab = useLab(t, 'twice');
  await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  const before = await getPods(t, lab);
  const namespacesBefore = labNamespaces(lab).sort();
  const second = await ok(t, ['up', '--lab', lab, '-f', HELLO, '--json']);
  const result = JSON.parse(second.stdout) as { started: boolean; changes: string[]; applied: { action: string }[] };
  t.false(result.started);
  t.deepEqual(result.changes, []);
  t.true(result.applied.every((a) => a.action === 'unchanged'));
  const after = await getPods(t, lab);
  t.deepEqual(
    after.map((p) => [p.metadata.uid, p.status.podIP]),
    before.map((p) => [p.metadata.uid, p.status.podIP]),
  );
  t.deepEqual(labNamespaces(lab).sort(), namespacesBefore);
});

e2e('a deleted pod created again gets a new IP', async (t) => {
  const lab = useLab(t, 'newip');
  const manifest = tempFile('pod.yaml', podsManifest(['solo']));
  await ok(t, ['up', '--lab', lab, '-f', manifest]);
  const [first] = await getPods(t, lab);
  await ok(t, ['delete', 'pod', 'solo', '--lab', lab]);
  t.false(labNamespaces(lab).some((n) => n.endsWith('.pod.default.solo')), 'the pod\'s namespace is gone');
  await ok(t, ['apply', '--lab', lab, '-f', manifest]);
  const [second] = await getPods(t, lab);
  t.is(second!.spec.nodeName, first!.spec.nodeName);
  t.not(second!.status.podIP, first!.status.podIP);
  t.is(await curlInPod(lab, 'solo', `http://${second!.status.podIP}:8080/hostname`), 'solo');
});

e2e('down leaves nothing behind, also after the agent was killed with SIGKILL', async (t) => {
  const lab = useLab(t, 'down');
  await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  await ok(t, ['down', '--lab', lab]);
  t.deepEqual(leftovers(lab), []);

  await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  const status = JSON.parse((await ok(t, ['status', '--lab', lab, '-o', 'json'])).stdout) as { pid: number };
  process.kill(status.pid, 'SIGKILL');
  const dead = await knetlab(['status', '--lab', lab]);
  t.is(dead.exitCode, 1);
  t.regex(dead.stderr, /agent not running.*\n.*knetlab up/);
  t.true(labNamespaces(lab).length > 0, 'the kernel state outlives the agent');
  await ok(t, ['down', '--lab', lab]);
  t.deepEqual(leftovers(lab), []);
});

e2e('up after the agent died restores the same pods with the same IPs', async (t) => {
  const lab = useLab(t, 'recover');
  await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  const before = await getPods(t, lab);
  const status = JSON.parse((await ok(t, ['status', '--lab', lab, '-o', 'json'])).stdout) as { pid: number };
  process.kill(status.pid, 'SIGKILL');
  await ok(t, ['up', '--lab', lab]);
  const after = await getPods(t, lab);
  t.deepEqual(
    after.map((p) => [p.metadata.name, p.spec.nodeName, p.status.podIP]),
    before.map((p) => [p.metadata.name, p.spec.nodeName, p.status.podIP]),
  );
  const [a, b] = after.filter((p, i, all) => all.findIndex((q) => q.spec.nodeName === p.spec.nodeName) === i);
  t.is(await curlInPod(lab, a!.metadata.name, `http://${b!.status.podIP}:8080/hostname`), b!.metadata.name);
});

e2e('exec runs in pods, nodes and the LAN and passes the exit code on', async (t) => {
  const lab = useLab(t, 'exec');
  await ok(t, ['up', '--lab', lab, '-f', HELLO]);
  const code = await knetlab(['exec', '--lab', lab, 'node/server', '--', 'sh', '-c', 'exit 3']);
  t.is(code.exitCode, 3);
  const forward = await ok(t, ['exec', '--lab', lab, 'node/agent-1', '--', 'cat', '/proc/sys/net/ipv4/ip_forward']);
  t.is(forward.stdout, '1');
  const lan = await ok(t, ['exec', '--lab', lab, 'lan', '--', 'ip', '-br', 'addr', 'show', 'br-lan']);
  t.regex(lan.stdout, /192\.168\.100\.1\/24/);
  const inPod = await ok(t, ['exec', '--lab', lab, 'pod/hello-1', '--', 'ip', 'route']);
  t.regex(inPod.stdout, /default via 10\.42\.\d+\.1 dev eth0/);
  const missing = await knetlab(['exec', '--lab', lab, 'nosuch', '--', 'true']);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /pod "nosuch" not found/);
});

e2e('a pod that cannot start does not hold the others back, and says why', async (t) => {
  const lab = useLab(t, 'full');
  // A /29 per node leaves five pod addresses (.2-.6); cluster DNS takes the first.
  const config = tempFile('config.yaml', 'node-cidr-mask-size-ipv4: 29\nnodes:\n  - {name: solo, role: server}\n');
  const manifest = tempFile('pods.yaml', podsManifest(['p1', 'p2', 'p3', 'p4', 'p5']));
  const up = await knetlab(['up', '--lab', lab, '-c', config, '-f', manifest]);
  t.is(up.exitCode, 0, up.stderr);
  t.regex(up.stdout, /Not healthy:\n\s+pod default\/p5 is Pending: .*full/);
  const phases = async () => (await getPods(t, lab)).map((p) => [p.metadata.name, p.status.phase]);
  t.deepEqual(await phases(), [['p1', 'Running'], ['p2', 'Running'], ['p3', 'Running'], ['p4', 'Running'], ['p5', 'Pending']]);
  const status = await knetlab(['status', '--lab', lab]);
  t.is(status.exitCode, 1, 'status reports the lab as unhealthy');
  await ok(t, ['delete', 'pod', 'p1', '--lab', lab]);
  t.deepEqual((await phases()).at(-1), ['p5', 'Running'], 'the freed address went to the waiting pod');
  await ok(t, ['apply', '--lab', lab, '-f', manifest]);
  t.deepEqual((await phases())[0], ['p1', 'Pending'], 'and the pod applied again waits in turn');
});

e2e('moving cluster-cidr and service-cidr on a running lab: new addresses, the same names, and the Service still answers by name', async (t) => {
  const lab = useLab(t, 'cidrs');
  await ok(t, ['up', '--lab', lab, '-f', join(ROOT, 'examples/web.yaml')]);
  const moved = tempFile('config.yaml', 'cluster-cidr: 10.52.0.0/16\nservice-cidr: 10.53.0.0/16\ncluster-dns: 10.53.0.10\n');
  await ok(t, ['up', '--lab', lab, '-c', moved]);
  const pods = await getPods(t, lab);
  t.true(pods.every((p) => p.status.podIP.startsWith('10.52.')), 'pods renumbered into the new cluster-cidr');
  const svc = JSON.parse((await ok(t, ['get', 'svc', 'web', '--lab', lab, '-o', 'json'])).stdout) as { spec: { clusterIP: string } };
  t.regex(svc.spec.clusterIP, /^10\.53\./, 'the Service moved into the new service-cidr');
  t.regex(await curlInPod(lab, pods[0]!.metadata.name, 'http://web/hostname'), /^web-/, 'and answers by name');
});
