// Networking between nodes as flannel does it, end to end: VXLAN (flannel.1, VNI 1, UDP 8472)
// and host-gw on a four-node lab, seen on the wire with tcpdump on the LAN; switching backend on a
// running lab; nodes joining and leaving; and host access from the host's own shell.
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { e2e, ok, useLab, getPods, type PodJson, tempFile } from '../helpers/lab.js';

const IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.53';
const NODES = ['server', 'agent-1', 'agent-2', 'agent-3'];


function config(backend: string, extra = ''): string {
  return tempFile('config.yaml', `flannel-backend: ${backend}\n${extra}nodes:\n${NODES.map((n, i) => `  - {name: ${n}, role: ${i ? 'agent' : 'server'}}`).join('\n')}\n`);
}

/** One pod pinned to each node. */
const PODS = tempFile(
  'pods.yaml',
  NODES.map((n) => `apiVersion: v1\nkind: Pod\nmetadata: {name: on-${n}}\nspec:\n  nodeName: ${n}\n  containers: [{name: c, image: ${IMAGE}, ports: [{containerPort: 8080}]}]\n`).join('---\n'),
);

async function curl(lab: string, from: PodJson, to: PodJson): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', `kn.${lab}.pod.default.${from.metadata.name}`, 'curl', '-sS', '--max-time', '3', `http://${to.status.podIP}:8080/hostname`], { reject: false });
  return r.stdout || r.stderr;
}

async function everyPairAnswers(t: ExecutionContext, lab: string, pods: PodJson[], label: string): Promise<void> {
  for (const a of pods) for (const b of pods) if (a !== b) t.is(await curl(lab, a, b), b.metadata.name, `${label}: ${a.spec.nodeName} -> ${b.spec.nodeName}`);
}

/** Packets seen on the LAN bridge matching a BPF filter (which sees outer headers only) while `traffic` runs. */
async function countOnLan(lab: string, filter: string, traffic: () => Promise<unknown>): Promise<number> {
  const dump = execa('ip', ['netns', 'exec', `kn.${lab}.lan`, 'timeout', '5', 'tcpdump', '-n', '-l', '-i', 'br-lan', filter], { reject: false });
  await new Promise((r) => setTimeout(r, 700)); // tcpdump needs a moment to attach
  await traffic();
  await new Promise((r) => setTimeout(r, 300));
  dump.kill('SIGINT');
  const { stdout } = await dump;
  return stdout.split('\n').filter((l) => / IP /.test(` ${l}`)).length;
}

async function inNode(lab: string, node: string, argv: string[]): Promise<string> {
  return (await execa('ip', ['netns', 'exec', `kn.${lab}.node.${node}`, ...argv])).stdout;
}

e2e('vxlan: flannel.1 on every node, every pair answers, only UDP 8472 on the wire; switching to host-gw keeps IPs', async (t) => {
  const lab = useLab(t, 'vxlan');
  await ok(t, ['up', '--lab', lab, '-c', config('vxlan'), '-f', PODS]);
  const pods = await getPods(t, lab);
  t.is(pods.length, 4);
  await everyPairAnswers(t, lab, pods, 'vxlan');

  const nodes = JSON.parse((await ok(t, ['get', 'nodes', '--lab', lab, '-o', 'json'])).stdout) as { items: { metadata: { name: string }; spec: { podCIDR: string }; status: { addresses: { type: string; address: string }[] } }[] };
  for (const node of nodes.items) {
    const name = node.metadata.name;
    t.regex(await inNode(lab, name, ['ip', '-d', 'link', 'show', 'flannel.1']), /vxlan id 1 .*dstport 8472/);
    const routes = await inNode(lab, name, ['ip', 'route']);
    const fdb = await inNode(lab, name, ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
    for (const other of nodes.items.filter((o) => o !== node)) {
      const cidr = other.spec.podCIDR;
      t.regex(routes, new RegExp(`${cidr.replace(/[./]/g, '\\$&')} via ${cidr.replace(/0\/\d+$/, '0').replace(/\./g, '\\.')} dev flannel\\.1 onlink`), `${name} routes ${cidr} over flannel.1`);
      t.true(fdb.includes(`dst ${other.status.addresses.find((a) => a.type === 'InternalIP')!.address}`), `${name}'s FDB lists ${other.metadata.name}`);
    }
  }
  const [a, , c] = pods;
  t.true((await countOnLan(lab, 'udp port 8472', () => curl(lab, a!, c!))) > 0, 'VXLAN packets on the LAN');
  t.is(await countOnLan(lab, 'net 10.42.0.0/16', () => curl(lab, a!, c!)), 0, 'no packet on the LAN has a pod address outside');

  await ok(t, ['up', '--lab', lab, '-c', config('host-gw'), '-f', PODS]);
  const after = await getPods(t, lab);
  t.deepEqual(after.map((p) => p.status.podIP), pods.map((p) => p.status.podIP), 'every pod keeps its IP');
  await everyPairAnswers(t, lab, after, 'host-gw');
  t.true((await countOnLan(lab, 'net 10.42.0.0/16', () => curl(lab, a!, c!))) > 0, 'host-gw: pod addresses on the LAN');
  t.is(await countOnLan(lab, 'udp port 8472', () => curl(lab, a!, c!)), 0, 'host-gw: no VXLAN');
  t.not((await execa('ip', ['netns', 'exec', `kn.${lab}.node.server`, 'ip', 'link', 'show', 'flannel.1'], { reject: false })).exitCode, 0, 'flannel.1 is gone');
});

e2e('none leaves cross-node traffic unrouted; nodes join and leave a running lab without a trace', async (t) => {
  const lab = useLab(t, 'nodes');
  await ok(t, ['up', '--lab', lab, '-c', config('none'), '-f', PODS]);
  const pods = await getPods(t, lab);
  t.regex(await curl(lab, pods[0]!, pods[1]!), /timed out|Failed to connect|Couldn't connect|No route/, 'none: no route between nodes');

  await ok(t, ['up', '--lab', lab, '-c', config('vxlan'), '-f', PODS]);
  await ok(t, ['node', 'add', 'agent-4', '--lab', lab]);
  const newcomer = tempFile('p.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: on-agent-4}\nspec:\n  nodeName: agent-4\n  containers: [{name: c, image: ${IMAGE}, ports: [{containerPort: 8080}]}]\n`);
  await ok(t, ['apply', '--lab', lab, '-f', newcomer]);
  const five = await getPods(t, lab);
  t.is(five.length, 5);
  await everyPairAnswers(t, lab, five, 'after node add');
  const ip4 = five.find((p) => p.spec.nodeName === 'agent-4')!.status.hostIP;
  await ok(t, ['node', 'delete', 'agent-4', '--lab', lab]);
  const four = await getPods(t, lab);
  t.false(four.some((p) => p.spec.nodeName === 'agent-4'), 'no pod is left on the deleted node');
  await everyPairAnswers(t, lab, four.filter((p) => p.status.phase === 'Running'), 'after node delete');
  for (const node of NODES) {
    const state = [await inNode(lab, node, ['ip', 'route']), await inNode(lab, node, ['ip', 'neigh']), await inNode(lab, node, ['bridge', 'fdb', 'show', 'dev', 'flannel.1'])].join('\n');
    t.false(state.includes(ip4), `${node} keeps no trace of agent-4 (${ip4})`);
  }
});

e2e('host access: ClusterIP, pod IP and NodePort from the host, and the host is as before after down', async (t) => {
  const before = await hostState();
  const lab = useLab(t, 'host');
  const manifest = tempFile('web.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec:\n  containers: [{name: c, image: ${IMAGE}, ports: [{containerPort: 8080}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080, nodePort: 30090}]\n`);
  await ok(t, ['up', '--lab', lab, '-c', config('vxlan', 'host-access: true\n'), '-f', manifest]);
  const svc = JSON.parse((await ok(t, ['get', 'svc', 'web', '--lab', lab, '-o', 'json'])).stdout) as { spec: { clusterIP: string } };
  const [pod] = await getPods(t, lab);
  for (const url of [`http://${svc.spec.clusterIP}/hostname`, `http://${pod!.status.podIP}:8080/hostname`, `http://192.168.100.11:30090/hostname`]) {
    const r = await execa('curl', ['-sS', '--max-time', '3', url], { reject: false });
    t.is(r.stdout, 'web', `from the host: ${url} ${r.stderr}`);
  }
  t.teardown(() => execa(process.execPath, ['bin/run.js', 'down', '--lab', `${lab}-b`], { reject: false }));
  const second = await execa(process.execPath, ['bin/run.js', 'up', '--lab', `${lab}-b`, '-c', config('vxlan', 'host-access: true\nlan-cidr: 192.168.101.0/24\ncluster-cidr: 10.52.0.0/16\nservice-cidr: 10.53.0.0/16\ncluster-dns: 10.53.0.10\n')], { reject: false });
  t.is(second.exitCode, 1, 'a second lab cannot take host access');
  t.regex(second.stderr, /another lab holds host access/);
  await ok(t, ['down', '--lab', lab]);
  t.deepEqual(await hostState(), before, 'ip route, ip link and iptables-save of the host are as before');
});

async function hostState(): Promise<string[]> {
  const route = (await execa('ip', ['route'])).stdout;
  const links = (await execa('ip', ['-o', 'link'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim()).join(' ');
  const rules = (await execa('iptables-save')).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return [route, links, rules];
}
