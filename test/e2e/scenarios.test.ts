// Every scenario, end to end on a real lab: start sets up a situation that check rejects, the
// reference solution makes check pass, and reset brings the situation back. The list comes from
// the scenarios folder, so a scenario added later is tested without touching this file. Each
// test has its own lab (t-sc-ID-...), removed in teardown even when the test fails.
import type { ExecutionContext } from 'ava';
import { listScenarioIds, loadScenario } from '../../src/scenarios/load.js';
import { e2e, knetlab, leftovers, ok, useLab, type CliResult } from '../helpers/lab.js';

interface CheckJson {
  passed: boolean;
  checks: { name: string; kind: string; passed: boolean; detail: { en: string; zh: string } }[];
}

async function check(t: ExecutionContext, id: string, lab: string): Promise<{ r: CliResult; json: CheckJson }> {
  const r = await knetlab(['scenario', 'check', id, '--lab', lab, '-o', 'json']);
  t.not(r.exitCode, 2, r.stderr);
  return { r, json: JSON.parse(r.stdout) as CheckJson };
}

const missing = (json: CheckJson) => json.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail.en}`).join('\n');

for (const id of listScenarioIds()) {
  e2e.serial(`scenario ${id}: start -> check fails -> solve -> check passes -> reset -> check fails`, async (t) => {
    const lab = useLab(t, `sc-${id}`);
    const { spec } = loadScenario(id);

    const started = await ok(t, ['scenario', 'start', id, '--lab', lab]);
    t.regex(started.stdout, new RegExp(`export KNETLAB_LAB=${lab}`));
    let { r, json } = await check(t, id, lab);
    t.is(r.exitCode, 1, 'the goal is not met at the start');
    t.false(json.passed);
    t.deepEqual(
      json.checks.map((c) => c.name),
      spec.checks.map((c) => c.name),
    );

    // A wrong answer is refused and recorded as not passing; the solution then answers right.
    const quiz = spec.quiz[0];
    if (quiz) {
      t.is((await knetlab(['scenario', 'answer', id, quiz.id, 'certainly not this', '--lab', lab])).exitCode, 1);
      ({ json } = await check(t, id, lab));
      t.false(json.checks.find((c) => c.kind === 'quiz' && c.name === spec.checks.find((k) => 'quiz' in k && k.quiz === quiz.id)?.name)?.passed);
    }

    const solved = await ok(t, ['scenario', 'solve', id, '--lab', lab]);
    t.regex(solved.stdout, /Applied the reference solution/);
    ({ r, json } = await check(t, id, lab));
    t.is(r.exitCode, 0, missing(json));
    t.true(json.checks.every((c) => c.passed));

    await ok(t, ['scenario', 'reset', id, '--lab', lab]);
    ({ r, json } = await check(t, id, lab));
    t.is(r.exitCode, 1, 'reset brings the starting situation back');

    await ok(t, ['down', '--lab', lab]);
    t.deepEqual(leftovers(lab), []);
  });
}

e2e.serial('scenario hints come one at a time, in the language asked, and a lab serves one scenario', async (t) => {
  const lab = useLab(t, 'sc-hints');
  const { spec } = loadScenario('pod-ip-changes');
  await ok(t, ['scenario', 'start', 'pod-ip-changes', '--lab', lab]);
  const first = await ok(t, ['scenario', 'hint', 'pod-ip-changes', '--lab', lab, '--lang', 'en']);
  t.true(first.stdout.includes(`Hint 1 of ${spec.hints.en.length}: ${spec.hints.en[0]}`), first.stdout);
  const second = await ok(t, ['scenario', 'hint', 'pod-ip-changes', '--lab', lab, '--lang', 'zh']);
  t.true(second.stdout.includes(spec.hints.zh[1]!), second.stdout);

  const right = await knetlab(['scenario', 'answer', 'pod-ip-changes', 'pool', 'Cluster-CIDR', '--lab', lab]);
  t.is(right.exitCode, 0, right.stderr);
  t.is((await knetlab(['scenario', 'answer', 'pod-ip-changes', 'nosuch', 'x', '--lab', lab])).exitCode, 2);

  // Another scenario on this lab would mix two situations: refused, saying how to go on.
  const other = await knetlab(['scenario', 'start', 'virtual-ip', '--lab', lab]);
  t.is(other.exitCode, 2);
  t.regex(other.stderr, /runs scenario pod-ip-changes/);
  const wrong = await knetlab(['scenario', 'check', 'virtual-ip', '--lab', lab]);
  t.is(wrong.exitCode, 2);
  t.regex(wrong.stderr, /runs scenario "pod-ip-changes", not "virtual-ip"/);
});

e2e('scenario list -o json names every scenario in both languages; show --lang zh prints the Chinese task', async (t) => {
  const list = JSON.parse((await ok(t, ['scenario', 'list', '-o', 'json'])).stdout) as { id: string; title: { en: string; zh: string }; minutes: number }[];
  t.deepEqual(
    list.map((s) => s.id),
    listScenarioIds(),
  );
  for (const s of list) t.true(s.title.en.length > 0 && /\p{Script=Han}/u.test(s.title.zh) && s.minutes > 0, s.id);
  const zh = await ok(t, ['scenario', 'show', 'pod-ip-changes', '--lang', 'zh']);
  t.true(zh.stdout.includes(loadScenario('pod-ip-changes').task.zh.split('\n')[0]!));
});
