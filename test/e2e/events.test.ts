// `knetlab events -w` tells the story of one pod deletion as it happens: the pod stops, the
// Deployment's replacement starts with a new IP, the endpoints change, and kube-proxy syncs every
// node, each sync with its duration.
import { execa } from 'execa';
import { ROOT, e2e, ok, useLab, getPods, CLI } from '../helpers/lab.js';

interface EventJson {
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

e2e('events -w shows a pod deletion, its replacement with a new IP, the endpoints change and one sync per node', async (t) => {
  const lab = useLab(t, 'events');
  await ok(t, ['up', '--lab', lab, '-f', `${ROOT}examples/web.yaml`]);
  const [victim] = (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-'));
  const watcher = execa(process.execPath, [CLI, 'events', '-w', '-o', 'json', '--lab', lab], { reject: false });
  await new Promise((r) => setTimeout(r, 800));
  await ok(t, ['delete', 'pod', victim!.metadata.name, '--lab', lab]);
  await new Promise((r) => setTimeout(r, 2500));
  watcher.kill('SIGINT');
  const lines = (await watcher).stdout.split('\n').filter(Boolean);
  const events = lines.map((l) => JSON.parse(l) as EventJson);
  // A terminating pod first leaves the endpoints (and the rules), then stops: the story starts
  // with the endpoints losing its IP (the listing before it holds the lab's earlier events).
  const ip = victim!.status.podIP;
  const after = events.slice(events.findIndex((e) => e.reason === 'EndpointsUpdated' && e.message.includes(`-${ip}:`)));
  const killing = after.find((e) => e.reason === 'Killing' && e.involvedObject.name === victim!.metadata.name);
  t.truthy(killing, 'the deletion is reported');
  t.regex(killing!.message, new RegExp(`IP ${ip.replace(/\./g, '\\.')} is released`));
  const started = after.find((e) => e.reason === 'Started');
  const replacement = (await getPods(t, lab)).find((p) => p.metadata.name.startsWith('web-') && !p.metadata.name.includes(victim!.metadata.name) && started?.involvedObject.name === p.metadata.name);
  t.truthy(replacement, 'the replacement pod is reported as started');
  t.true(started!.message.includes(replacement!.status.podIP), 'with its new IP');
  t.true(after.some((e) => e.reason === 'EndpointsUpdated' && e.message.includes(`-${victim!.status.podIP}:`)), 'the endpoints lose the old IP');
  const firstSyncs = after.filter((e) => e.reason === 'Synced').slice(0, 3);
  t.deepEqual(firstSyncs.map((e) => e.involvedObject.name).sort(), ['agent-1', 'agent-2', 'server'], 'one sync per node');
  for (const s of firstSyncs) t.regex(s.message, /\d+ lines in \d+ ms/);
});

