// Reliability: a lab never leaks. Many up/down cycles with pods and services, and runs in which the
// agent or `up` itself is killed with SIGKILL at a random moment, all end with nothing left:
// namespaces, host links, state, agent processes, /etc/netns files. Concurrent commands against one
// lab end as if run in some order, and two `up`s of one lab take turns.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, ROOT, e2e, ok, knetlab, useLab, leftovers, getPods, agentProcesses } from '../helpers/lab.js';

const WEB = join(ROOT, 'examples/web.yaml');

function etcLeftovers(lab: string): string[] {
  return existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(`kn.${lab}.`)) : [];
}

/** A seeded PRNG so that a failing run can be replayed. */
function prng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

e2e('50 up/down cycles with pods and services leave nothing behind', async (t) => {
  const lab = useLab(t, 'cycles');
  for (let i = 0; i < 50; i++) {
    await ok(t, ['up', '--lab', lab, '-f', WEB]);
    await ok(t, ['down', '--lab', lab]);
    const left = [...leftovers(lab), ...etcLeftovers(lab)];
    if (left.length) return t.fail(`cycle ${i + 1}: ${left.join('; ')}`);
  }
  t.pass();
});

e2e('20 runs killed with SIGKILL at a random moment (the agent, or up itself), then down: nothing left', async (t) => {
  const lab = useLab(t, 'kills');
  const rand = prng(20261127);
  for (let i = 0; i < 20; i++) {
    const killUp = i % 2 === 0;
    const up = execa(process.execPath, [CLI, 'up', '--lab', lab, '-f', WEB], { reject: false });
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 900)));
    if (killUp) up.kill('SIGKILL');
    await up;
    if (!killUp) for (const pid of agentProcesses(lab)) process.kill(pid, 'SIGKILL');
    const down = await knetlab(['down', '--lab', lab]);
    t.is(down.exitCode, 0, `run ${i + 1}: down: ${down.stderr}`);
    t.deepEqual([...leftovers(lab), ...etcLeftovers(lab)], [], `run ${i + 1} (${killUp ? 'up' : 'agent'} killed)`);
  }
});

e2e('ten concurrent apply and delete commands end as if run in some order; two ups of one lab take turns', async (t) => {
  const lab = useLab(t, 'concurrent');
  const [first, second] = await Promise.all([knetlab(['up', '--lab', lab]), knetlab(['up', '--lab', lab])]);
  t.is(first.exitCode, 0, first.stderr);
  t.is(second.exitCode, 0, second.stderr);
  t.is(agentProcesses(lab).length, 1, 'one agent');
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-'));
  const manifests = Array.from({ length: 10 }, (_, i) => {
    const file = join(dir, `p${i}.yaml`);
    writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec:\n  containers: [{name: c, image: registry.k8s.io/e2e-test-images/agnhost:2.53, ports: [{containerPort: 8080}]}]\n`);
    return file;
  });
  await Promise.all(manifests.map((f) => ok(t, ['apply', '--lab', lab, '-f', f])));
  // Now five deletes and five re-applies at once.
  await Promise.all(manifests.map((f, i) => (i % 2 ? ok(t, ['delete', 'pod', `p${i}`, '--lab', lab]) : ok(t, ['apply', '--lab', lab, '-f', f]))));
  const pods = await getPods(t, lab);
  t.deepEqual(pods.map((p) => p.metadata.name), ['p0', 'p2', 'p4', 'p6', 'p8']);
  const ips = pods.map((p) => p.status.podIP);
  t.is(new Set(ips).size, ips.length, 'no duplicate IPs');
  for (const p of pods) t.is(p.status.phase, 'Running');
});

