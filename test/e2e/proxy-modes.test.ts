// Switching kube-proxy's mode on a running lab (`up` again with another proxy-mode) leaves no
// trace of the old mode on any node, keeps every pod and its IP, and the Service keeps answering.
// A table removed by hand is written again, as the periodic check finds it gone.
import { execa } from 'execa';
import { ROOT, e2e, ok, getPods, proxyModeConfig, useLab, type ProxyModeName } from '../helpers/lab.js';

const NODES = ['server', 'agent-1', 'agent-2'];
const NFT = '/usr/sbin/nft';

async function inNode(lab: string, node: string, argv: string[]): Promise<string> {
  return (await execa('ip', ['netns', 'exec', `kn.${lab}.node.${node}`, ...argv])).stdout;
}

/** What a node holds of each mode: its nftables tables and the number of KUBE-* chains and jumps. */
async function traces(lab: string, node: string): Promise<{ tables: string[]; kubeLines: number }> {
  const tables = (await inNode(lab, node, [NFT, 'list', 'tables'])).split('\n').filter(Boolean);
  const kubeLines = (await inNode(lab, node, ['iptables-save'])).split('\n').filter((l) => l.includes('KUBE-')).length;
  return { tables, kubeLines };
}

e2e('switching proxy-mode on a running lab removes every trace of the other mode and keeps the pods', async (t) => {
  const lab = useLab(t, 'modes');
  const manifest = `${ROOT}examples/web.yaml`;
  const up = (mode: ProxyModeName) => ok(t, ['up', '--lab', lab, '-f', manifest, '-c', proxyModeConfig(mode)]);
  const answers = async () => (await ok(t, ['curl', '--lab', lab, 'svc/web/hostname', '-n', '10'])).stdout;

  await up('iptables');
  const before = (await getPods(t, lab)).map((p) => `${p.metadata.name} ${p.status.podIP}`).sort();
  for (const node of NODES) t.true((await traces(lab, node)).kubeLines > 20, `${node}: iptables mode wrote its chains`);

  const switched = await up('nftables');
  t.regex(switched.stdout + switched.stderr, /switched kube-proxy from iptables to nftables mode/);
  for (const node of NODES) t.deepEqual(await traces(lab, node), { tables: ['table ip kube-proxy'], kubeLines: 0 }, `${node}: only nftables mode's table`);
  t.regex(await answers(), /10\/10 requests/);
  t.deepEqual((await getPods(t, lab)).map((p) => `${p.metadata.name} ${p.status.podIP}`).sort(), before, 'same pods, same IPs');
  const status = JSON.parse((await ok(t, ['status', '--lab', lab, '-o', 'json'])).stdout) as { config: { proxyMode: string } };
  t.is(status.config.proxyMode, 'nftables');

  // Someone deletes the table by hand: the periodic check (every 5 s) writes it again.
  await inNode(lab, 'agent-1', [NFT, 'delete', 'table', 'ip', 'kube-proxy']);
  const deadline = Date.now() + 12_000;
  while (Date.now() < deadline && !(await traces(lab, 'agent-1')).tables.includes('table ip kube-proxy')) await new Promise((r) => setTimeout(r, 200));
  t.true((await traces(lab, 'agent-1')).tables.includes('table ip kube-proxy'), 'the table is back');

  await up('iptables');
  for (const node of NODES) {
    const now = await traces(lab, node);
    t.false(now.tables.includes('table ip kube-proxy'), `${node}: nftables mode's table is gone`);
    t.true(now.kubeLines > 20, `${node}: iptables mode's chains are back`);
  }
  t.regex(await answers(), /10\/10 requests/);
});
