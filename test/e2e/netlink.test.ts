// The agent configures a pod's side of its network with netlink requests instead of `ip`
// (src/kernel/netlink.ts). Here both are applied to twin namespaces and the kernel's own view of
// the two must be the same: addresses, link state, routes. A repeated request fails naming its step.
import test from 'ava';
import { execa } from 'execa';
import { renderPodInside, podInside, type PodWiring } from '../../src/dataplane/render.js';
import { runIpBatch } from '../../src/kernel/ip.js';
import { configurePodInside } from '../../src/kernel/netlink.js';
import { e2e } from '../helpers/lab.js';

const TAG = `${process.pid % 100000}`;
const NODE = `kn.nltest-${TAG}.node`;

/** A pod namespace whose eth0 is one end of a veth from the node namespace, as the agent makes them. */
async function twin(name: string, veth: string): Promise<string> {
  const netns = `kn.nltest-${TAG}.${name}`;
  await execa('ip', ['netns', 'add', netns]);
  await execa('ip', ['-n', NODE, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await execa('ip', ['-n', NODE, 'link', 'set', veth, 'up']);
  return netns;
}

/** What the kernel says of a namespace, without what differs between twins (indexes, MACs, names). */
async function view(netns: string): Promise<string> {
  const show = async (...argv: string[]) => (await execa('ip', ['-n', netns, ...argv])).stdout.replace(/@\S+/g, '').replace(/\d+: /g, '');
  return [await show('-4', '-br', 'addr'), await show('-br', 'link'), await show('route'), await show('-d', 'route', 'show', 'table', 'main', 'proto', 'boot')].join('\n').replace(/link\/ether \S+|([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC');
}

e2e('netlink configures a pod exactly as the ip commands do; a repeated request names its step', async (t) => {
  t.teardown(async () => {
    for (const ns of [NODE, `kn.nltest-${TAG}.by-ip`, `kn.nltest-${TAG}.by-netlink`]) await execa('ip', ['netns', 'del', ns], { reject: false });
  });
  await execa('ip', ['netns', 'add', NODE]);
  const node = { netns: NODE, podCIDR: '10.42.1.0/24', gateway: '10.42.1.1' } as PodWiring['node'];
  const byIp: PodWiring = { netns: await twin('by-ip', 'veth-a'), veth: 'veth-a', ip: '10.42.1.7', node };
  const byNetlink: PodWiring = { netns: await twin('by-netlink', 'veth-b'), veth: 'veth-b', ip: '10.42.1.7', node };

  await runIpBatch(renderPodInside(byIp));
  configurePodInside(podInside(byNetlink));
  const expected = await view(byIp.netns);
  t.regex(expected, /eth0\s+UP\s+10\.42\.1\.7\/24/);
  t.regex(expected, /default via 10\.42\.1\.1 dev eth0/);
  t.is(await view(byNetlink.netns), expected);

  const again = t.throws(() => configurePodInside(podInside(byNetlink)));
  t.regex(again!.message, new RegExp(`\`ip addr add 10.42.1.7/24 dev eth0\` in ${byNetlink.netns} failed: EEXIST`));
  t.throws(() => configurePodInside({ ...podInside(byNetlink), ifname: 'eth9' }), { message: /`ip link show eth9` in .* failed: ENODEV/ });
});

test('netlink requests have the layout of man 7 rtnetlink', async (t) => {
  const { addrAdd, message } = await import('../../src/kernel/netlink.js');
  const r = addrAdd(5, '10.42.1.7', 24);
  const m = message(r.type, r.flags, 3, r.fixed, r.attributes);
  t.is(m.readUInt32LE(0), m.length, 'nlmsg_len');
  t.is(m.length, 16 + 8 + 8 + 8, 'header, ifaddrmsg, IFA_LOCAL, IFA_ADDRESS');
  t.is(m.readUInt16LE(4), 20, 'RTM_NEWADDR');
  t.is(m.readUInt16LE(6), 0x1 | 0x4 | 0x400 | 0x200, 'REQUEST | ACK | CREATE | EXCL');
  t.is(m.readUInt32LE(8), 3, 'sequence number');
  t.deepEqual([...m.subarray(16, 24)], [2, 24, 0, 0, 5, 0, 0, 0], 'AF_INET, /24, index 5');
  t.deepEqual([...m.subarray(24, 32)], [8, 0, 2, 0, 10, 42, 1, 7], 'IFA_LOCAL 10.42.1.7');
});
