// flannel's backends on the real kernel, without the agent: scratch nodes and pods built from the
// renderers' own batches (the same ones the agent runs), then pod-to-pod TCP across nodes, the
// wire seen with tcpdump on the LAN bridge, and backend switches with renderOverlay on the same
// namespaces. What the renderers promise (idempotent, complete, nothing left of a deleted node)
// is checked against what the kernel holds. Needs root; namespaces are `kn.t-overlay-PID.*`.
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { e2e } from '../helpers/lab.js';
import { DEFAULT_CONFIG_YAML } from '../../src/config/default.js';
import { parseConfig } from '../../src/config/load.js';
import type { FlannelBackend, LabConfig } from '../../src/config/types.js';
import { podNetns, podVethName } from '../../src/dataplane/names.js';
import { planLab, type LabPlan, type NodePlan } from '../../src/dataplane/plan.js';
import { renderLan, renderLanPorts, renderNetnsAdd, renderNode, renderOverlay, renderPodInside, renderPodMtu, renderPodPorts, type PodWiring } from '../../src/dataplane/render.js';
import { listNetns, runIpBatch, runIpBatches } from '../../src/kernel/ip.js';
import { writeSysctls } from '../../src/kernel/netns.js';

const LAB = `t-overlay-${process.pid % 100000}`;
const PORT = 8080;

/** Accepts connections forever; answers each with the peer address it saw and the bytes it got. */
const SERVER = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', ${PORT}))
s.listen(16)
print('ready', flush=True)
while True:
    c, a = s.accept()
    c.settimeout(5)
    n = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        c.sendall(f'{a[0]} {n}'.encode())
    except OSError:
        pass
    c.close()
`;

/** Sends argv[2] bytes to argv[1]:PORT and prints the answer, or the error. */
const CLIENT = `
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], ${PORT}), timeout=float(sys.argv[3]))
    s.sendall(b'x' * int(sys.argv[2]))
    s.shutdown(socket.SHUT_WR)
    out = b''
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    print(out.decode())
except OSError as e:
    print('error', e)
`;

function config(backend: FlannelBackend, nodes?: string[]): LabConfig {
  const base = parseConfig(DEFAULT_CONFIG_YAML, '<default config>').config;
  return { ...base, flannelBackend: backend, nodes: nodes ? base.nodes.filter((n) => nodes.includes(n.name)) : base.nodes };
}

async function sh(argv: string[]): Promise<string> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false });
  return r.exitCode === 0 ? r.stdout : `exit ${r.exitCode}: ${r.stderr}`;
}

/** Each node's batches in order; nodes side by side, as the agent would run them. */
async function applyOverlay(plan: LabPlan, nodes: NodePlan[] = plan.nodes): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      for (const batch of renderOverlay(plan, n)) await runIpBatch(batch);
    }),
  );
}

/** The lab from the renderers, in the agent's order: LAN, nodes, backend, pods (one per node). */
async function build(plan: LabPlan): Promise<PodWiring[]> {
  const pods = plan.nodes.map((node) => {
    const netns = podNetns(plan.lab, 'default', `p-${node.name}`);
    return { netns, veth: podVethName(netns), ip: node.gateway.replace(/\.1$/, '.2'), node };
  });
  await runIpBatch(renderNetnsAdd([plan.lan.netns]));
  await runIpBatch(renderLan(plan));
  await runIpBatch(renderNetnsAdd(plan.nodes.map((n) => n.netns)));
  await runIpBatch(renderLanPorts(plan, plan.nodes));
  await runIpBatches(plan.nodes.map((n) => renderNode(plan, n)));
  for (const n of plan.nodes) writeSysctls(n.netns, { 'net.ipv4.ip_forward': '1' });
  await applyOverlay(plan);
  await runIpBatch(renderNetnsAdd(pods.map((p) => p.netns)));
  await runIpBatches(plan.nodes.map((n) => renderPodPorts(n, pods.filter((p) => p.node === n))));
  await runIpBatches(pods.map(renderPodInside));
  return pods;
}

async function startServers(t: ExecutionContext, pods: PodWiring[]): Promise<void> {
  for (const pod of pods) {
    const server = execa('ip', ['netns', 'exec', pod.netns, 'python3', '-c', SERVER], { reject: false });
    t.teardown(() => void server.kill());
    await new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      void server.then((r) => reject(new Error(`server in ${pod.netns} ended: ${r.stderr}`)));
    });
  }
}

async function tcp(from: PodWiring, to: PodWiring, bytes = 1000, timeout = 3): Promise<string> {
  return (await execa('ip', ['netns', 'exec', from.netns, 'python3', '-c', CLIENT, to.ip, String(bytes), String(timeout)], { reject: false })).stdout;
}

/** Every pod reaches every other (all on different nodes), and sees the peer's own pod IP: no NAT. */
async function everyPairConnects(t: ExecutionContext, pods: PodWiring[], label: string, bytes = 1000): Promise<void> {
  for (const a of pods) for (const b of pods) if (a !== b) t.is(await tcp(a, b, bytes), `${a.ip} ${bytes}`, `${label}: ${a.node.name} -> ${b.node.name}`);
}

/** Outer headers (source, destination address) of what crossed br-lan while `traffic` ran. */
async function capture(plan: LabPlan, filter: string, traffic: () => Promise<unknown>): Promise<{ outer: [string, string, string][]; text: string }> {
  const proc = execa('ip', ['netns', 'exec', plan.lan.netns, 'timeout', '3', 'tcpdump', '-l', '-n', '-i', 'br-lan', '-c', '5', filter], { reject: false });
  await new Promise<void>((resolve) => {
    proc.stderr.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    void proc.then(() => resolve());
  });
  await traffic();
  const { stdout } = await proc;
  // `12:00:00.000000 IP 192.168.100.10.51234 > 192.168.100.11.8472: OTV, ...`; the inner packet follows on its own line.
  const outer = [...stdout.matchAll(/^\d\d:\d\d:\d\d\.\d+ IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+):/gm)].map(
    (m) => [m[1]!, m[3]!, m[1] === m[3] ? '' : `${m[2]}>${m[4]}`] as [string, string, string],
  );
  return { outer, text: stdout };
}

async function mtus(plan: LabPlan, pods: PodWiring[]): Promise<Record<string, string>> {
  const mtuOf = async (netns: string, dev: string) => /mtu (\d+)/.exec(await sh(['ip', '-n', netns, 'link', 'show', dev]))?.[1] ?? 'absent';
  const out: Record<string, string> = {};
  for (const n of plan.nodes) out[`${n.name} cni0`] = await mtuOf(n.netns, 'cni0');
  for (const p of pods) {
    out[`${p.node.name} ${p.veth}`] = await mtuOf(p.node.netns, p.veth);
    out[`${p.node.name} pod eth0`] = await mtuOf(p.netns, 'eth0');
  }
  return out;
}

function staticRoutes(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

function expectMtus(t: ExecutionContext, got: Record<string, string>, mtu: number, label: string): void {
  t.deepEqual(Object.entries(got).filter(([, v]) => v !== String(mtu)), [], `${label}: every cni0, veth and pod eth0 has MTU ${mtu}`);
}

e2e('flannel backends on the kernel: vxlan and host-gw carry pod traffic across nodes, switch in place, and forget deleted nodes', async (t) => {
  const prefix = `kn.${LAB}.`;
  t.teardown(async () => {
    const names = listNetns().filter((n) => n.startsWith(prefix));
    if (names.length) await runIpBatch({ lines: names.map((n) => `netns del ${n}`), force: true }).catch(() => undefined);
  });
  const vxlan = planLab(LAB, config('vxlan'));
  const pods = await build(vxlan);
  await startServers(t, pods);
  const [server, agent1, agent2] = vxlan.nodes as [NodePlan, NodePlan, NodePlan];

  // --- vxlan: flannel.1 as flannel builds it ---
  const link = await sh(['ip', '-n', server.netns, '-d', 'link', 'show', 'flannel.1']);
  t.regex(link, /vxlan id 1 local 192\.168\.100\.10 dev eth0 .*dstport 8472 nolearning/);
  t.regex(link, /mtu 1450 /);
  t.true(link.includes(`link/ether ${server.vtepMac} `), 'flannel.1 has the planned MAC');
  t.regex(await sh(['ip', '-n', server.netns, 'addr', 'show', 'flannel.1']), /inet 10\.42\.0\.0\/32 /);
  const fdb = await sh(['bridge', '-n', server.netns, 'fdb', 'show', 'dev', 'flannel.1']);
  for (const other of [agent1, agent2]) {
    t.true(fdb.includes(`${other.vtepMac} dst ${other.ip} self permanent`), `fdb lists ${other.name}`);
    t.regex(await sh(['ip', '-n', server.netns, 'route', 'show', other.podCIDR]), new RegExp(`via ${other.vtepIP} dev flannel.1 onlink`));
    t.regex(await sh(['ip', '-n', server.netns, 'neigh', 'show', other.vtepIP, 'dev', 'flannel.1']), new RegExp(`lladdr ${other.vtepMac} PERMANENT`));
  }
  expectMtus(t, await mtus(vxlan, pods), 1450, 'vxlan');
  await everyPairConnects(t, pods, 'vxlan');
  await everyPairConnects(t, [pods[0]!, pods[2]!], 'vxlan, 300 kB', 300_000);

  const onWire = await capture(vxlan, 'udp port 8472', () => tcp(pods[0]!, pods[1]!));
  t.log(`vxlan on br-lan:\n${onWire.text}`);
  t.true(onWire.outer.length > 0, 'UDP 8472 on the LAN');
  for (const [src, dst] of onWire.outer) t.deepEqual([src, dst].sort(), [server.ip, agent1.ip].sort(), 'outer addresses are the nodes\' LAN IPs');
  t.regex(onWire.text, /10\.42\.0\.2\.\d+ > 10\.42\.1\.2\.8080/, 'the inner packet carries the pod addresses');
  t.regex(onWire.text, /Flags \[S\], .*mss 1410,/, 'the pod MTU of 1450 shows in the SYN\'s MSS (1450 - 40)');

  // A resync (the node set unchanged) rebuilds the same state and traffic goes on.
  await applyOverlay(vxlan);
  t.is(await sh(['bridge', '-n', server.netns, 'fdb', 'show', 'dev', 'flannel.1']), fdb);
  await everyPairConnects(t, pods, 'vxlan after a resync');

  // --- switch to host-gw on the same namespaces ---
  const hostGw = planLab(LAB, config('host-gw'), vxlan);
  await applyOverlay(hostGw);
  await runIpBatches(renderPodMtu(pods, hostGw.podMTU));
  t.regex(await sh(['ip', '-n', server.netns, 'link', 'show', 'flannel.1']), /^exit 1: Device "flannel.1" does not exist/);
  t.is(await sh(['ip', '-n', server.netns, 'link', 'show', 'group', '8472']), '', 'nothing left in the overlay group');
  t.deepEqual(staticRoutes(await sh(['ip', '-n', server.netns, 'route', 'show', 'proto', 'static'])), ['10.42.1.0/24 via 192.168.100.11 dev eth0', '10.42.2.0/24 via 192.168.100.12 dev eth0']);
  expectMtus(t, await mtus(hostGw, pods), 1500, 'host-gw');
  await everyPairConnects(t, pods, 'host-gw');
  const plain = await capture(hostGw, `udp port 8472 or tcp port ${PORT}`, () => tcp(pods[0]!, pods[1]!));
  t.log(`host-gw on br-lan:\n${plain.text}`);
  t.true(plain.outer.length > 0);
  for (const [src, dst] of plain.outer) t.deepEqual([src, dst].sort(), [pods[0]!.ip, pods[1]!.ip].sort(), 'the pod addresses are on the wire, unwrapped');
  t.regex(plain.text, /Flags \[S\], .*mss 1460,/, 'full-size segments again');

  // --- and back to vxlan ---
  const vxlanAgain = planLab(LAB, config('vxlan'), hostGw);
  await applyOverlay(vxlanAgain);
  await runIpBatches(renderPodMtu(pods, vxlanAgain.podMTU));
  t.is(await sh(['ip', '-n', server.netns, 'route', 'show', 'proto', 'static']), '', 'host-gw routes are gone');
  expectMtus(t, await mtus(vxlanAgain, pods), 1450, 'vxlan again');
  await everyPairConnects(t, pods, 'vxlan again');
  const wrapped = await capture(vxlanAgain, `udp port 8472 or tcp port ${PORT}`, () => tcp(pods[1]!, pods[2]!));
  t.true(wrapped.outer.length > 0);
  for (const [src, dst] of wrapped.outer) t.deepEqual([src, dst].sort(), [agent1.ip, agent2.ip].sort(), 'wrapped again: outer addresses are LAN IPs');

  // --- none: cross-node pod traffic has no route ---
  const none = planLab(LAB, config('none'), vxlanAgain);
  await applyOverlay(none);
  t.regex(await tcp(pods[0]!, pods[1]!, 10, 1), /^error /, 'none: no route between nodes');
  t.is(await sh(['ip', '-n', server.netns, 'link', 'show', 'group', '8472']), '');
  await applyOverlay(vxlanAgain);
  await everyPairConnects(t, pods, 'vxlan after none');

  // --- delete agent-2: the others keep their addresses and forget it completely ---
  const smaller = planLab(LAB, config('vxlan', ['server', 'agent-1']), vxlanAgain);
  t.deepEqual(smaller.nodes.map((n) => [n.ip, n.podCIDR]), [[server.ip, server.podCIDR], [agent1.ip, agent1.podCIDR]]);
  await runIpBatch({ lines: [`netns del ${pods[2]!.netns}`, `netns del ${agent2.netns}`] });
  await applyOverlay(smaller);
  for (const node of smaller.nodes) {
    const state = [
      await sh(['ip', '-n', node.netns, 'route']),
      await sh(['ip', '-n', node.netns, 'neigh', 'show', 'dev', 'flannel.1']),
      await sh(['bridge', '-n', node.netns, 'fdb', 'show', 'dev', 'flannel.1']),
    ].join('\n');
    for (const trace of [agent2.ip, agent2.vtepMac, agent2.vtepIP, agent2.podCIDR]) t.false(state.includes(trace), `${node.name} has no trace of agent-2 (${trace})`);
  }
  await everyPairConnects(t, pods.slice(0, 2), 'vxlan without agent-2');
});
