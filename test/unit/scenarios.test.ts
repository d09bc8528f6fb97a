// Scenarios without a lab: every folder under scenarios/ is a valid scenario (its file against the
// schema and the cross-reference rules, both texts, hints in both languages, a config and
// manifests that `up` would accept), the committed JSON schema is the one the zod schema
// generates, quiz answers are matched as promised, and a broken scenario is reported at its lines.
// `UPDATE_GOLDEN=1 npx ava test/unit/scenarios.test.ts` rewrites the committed JSON schema.
import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { InvalidInputError, UsageError } from '../../src/errors.js';
import { checkScenario, listScenarioIds, loadScenario, scenarioConfig, scenarioManifests, scenariosDir } from '../../src/scenarios/load.js';
import { isAcceptedAnswer, normaliseAnswer } from '../../src/scenarios/checks.js';
import { expandFacts } from '../../src/scenarios/lab.js';
import { validateScenarioData } from '../../src/scenarios/validate.js';
import { parseYaml } from '../../src/config/parse.js';
import { renderScenarioJsonSchema, SCHEMA_FILE_NAME } from '../../src/scenarios/schema.js';
import { pickLang } from '../../src/scenarios/text.js';

const DIR = scenariosDir();
const IDS = listScenarioIds(DIR);
const HAN = /\p{Script=Han}/u;

test('the five first scenarios are there (and others are found without listing them here)', (t) => {
  for (const id of ['pod-ip-changes', 'load-balancing', 'labels-selectors', 'endpoints-readiness', 'virtual-ip']) t.true(IDS.includes(id), id);
});

for (const id of IDS) {
  test(`${id}: scenario.yaml validates against the schema and the rules`, (t) => {
    const { scenario, diagnostics } = checkScenario(join(DIR, id));
    t.deepEqual(diagnostics.map(formatDiagnostic), []);
    t.is(scenario?.id, id);
  });

  test(`${id}: editors are pointed at the JSON schema`, (t) => {
    t.is(readFileSync(join(DIR, id, 'scenario.yaml'), 'utf8').split('\n')[0], '# yaml-language-server: $schema=../scenario.schema.json');
  });

  test(`${id}: both texts exist, are not empty, and the Chinese one is Chinese`, (t) => {
    const s = loadScenario(id, DIR);
    t.true(s.task.en.length > 200, 'en.md is a task, not a stub');
    t.true(s.task.zh.length > 100, 'zh.md is a task, not a stub');
    t.regex(s.task.zh, HAN);
    for (const text of [s.spec.title, s.spec.concept, ...s.spec.quiz.map((q) => q.question)]) t.regex(text.zh, HAN);
  });

  test(`${id}: hints come in pairs, one per language`, (t) => {
    const { hints } = loadScenario(id, DIR).spec;
    t.is(hints.en.length, hints.zh.length);
    for (const hint of hints.zh) t.regex(hint, HAN);
  });

  test(`${id}: its config and manifests are valid lab input`, async (t) => {
    const s = loadScenario(id, DIR);
    t.true(scenarioConfig(s).config.nodes.length >= 1);
    t.true((await scenarioManifests(s)).objects.length >= 1);
  });
}

test('the committed scenario.schema.json is the one the zod schema generates', (t) => {
  const file = join(DIR, SCHEMA_FILE_NAME);
  const current = renderScenarioJsonSchema();
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, current);
  t.is(readFileSync(file, 'utf8'), current, 'stale: run `UPDATE_GOLDEN=1 npx ava test/unit/scenarios.test.ts` and commit the result');
});

test("README's scenario table lists every scenario with its time", (t) => {
  const readme = readFileSync(join(DIR, '..', 'README.md'), 'utf8');
  for (const id of IDS) t.regex(readme, new RegExp(`^\\| \`${id}\` \\| .+ \\| ${loadScenario(id, DIR).spec.minutes} \\|$`, 'm'), id);
});

test('quiz answers: case, spaces, quotes and a final full stop do not matter; anything else does', (t) => {
  const quiz = { accept: ['cluster-cidr', '10.42.0.0/16', 'DNAT'] };
  for (const right of ['cluster-cidr', 'Cluster-CIDR', '  cluster-cidr ', '"cluster-cidr"', '`cluster-cidr`.', '10.42.0.0 /16', 'dnat', 'ＤＮＡＴ', '「DNAT」。']) {
    t.true(isAcceptedAnswer(quiz, right), right);
  }
  for (const wrong of ['service-cidr', 'cluster', '10.43.0.0/16', 'SNAT', '', '   ', undefined]) t.false(isAcceptedAnswer(quiz, wrong), String(wrong));
  t.is(normaliseAnswer(' Tier = Fronted '), 'tier=fronted');
});

test('every scenario accepts the answer its own solution gives, and not a wrong one', (t) => {
  for (const id of IDS) {
    const { quiz, solve } = loadScenario(id, DIR).spec;
    for (const q of quiz) {
      const given = solve.flatMap((s) => ('answer' in s && s.answer.quiz === q.id ? [s.answer.value] : []));
      t.true(given.length > 0 && given.every((v) => isAcceptedAnswer(q, v)), `${id}/${q.id}`);
      t.false(isAcceptedAnswer(q, 'i do not know'), `${id}/${q.id}`);
    }
  }
});

test('the language is --lang, else zh for a Chinese locale, else en', (t) => {
  t.is(pickLang('zh', { LANG: 'en_US.UTF-8' }), 'zh');
  t.is(pickLang(undefined, { LANG: 'zh_CN.UTF-8' }), 'zh');
  t.is(pickLang(undefined, { LANG: 'zh_CN.UTF-8', LC_ALL: 'C' }), 'en');
  t.is(pickLang(undefined, { LC_MESSAGES: 'zh_TW' }), 'zh');
  t.is(pickLang(undefined, {}), 'en');
});

test('an unknown scenario is a usage error with a suggestion', (t) => {
  const err = t.throws(() => loadScenario('pod-ip-change', DIR), { instanceOf: UsageError });
  t.regex(err!.hint ?? '', /pod-ip-changes/);
});

test('a broken scenario reports every problem at its line, with the fix', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'knetlab-scenarios-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'broken'));
  await writeFile(join(root, 'broken', 'en.md'), 'The task.');
  await writeFile(
    join(root, 'broken', 'scenario.yaml'),
    [
      'id: broken',
      'title: {en: Broken, zh: 坏的}',
      'concept: {en: x, zh: 某}',
      'minutes: 5',
      'manifests: [missing.yaml]',
      'hints: {en: [one, two], zh: [一]}',
      'quiz: [{id: q, question: {en: Q, zh: 问}, accept: [a]}]',
      'checks:',
      '  - {name: ready, description: {en: e, zh: 中}, endpoint: {service: web, ready: 3}}',
      '  - {name: ask, quiz: nope}',
      'solve:',
      '  - exce: {in: node/server, command: [echo]}',
      '  - answer: {quiz: q, value: a}',
      'colour: blue',
    ].join('\n'),
  );
  const { diagnostics } = checkScenario(join(root, 'broken'));
  const lines = diagnostics.map(formatDiagnostic).map((l) => l.replace(root, 'ROOT'));
  t.true(lines.some((l) => /scenario\.yaml:9:5 checks\[0\]: needs exactly one of .*— did you mean `endpoints`\?/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /scenario\.yaml:12:5 solve\[0\]: needs exactly one of .*— did you mean `exec`\?/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /scenario\.yaml:14:1 colour: unknown key "colour"/.test(l)), lines.join('\n'));

  // Once the shape is right, the cross-references are checked.
  const fixed = readFileSync(join(root, 'broken', 'scenario.yaml'), 'utf8').replace('endpoint:', 'endpoints:').replace('exce:', 'exec:').replace('colour: blue', '');
  await writeFile(join(root, 'broken', 'scenario.yaml'), fixed);
  const rules = checkScenario(join(root, 'broken')).diagnostics.map((d) => d.message);
  t.true(rules.includes('zh.md is missing or empty'), rules.join('\n'));
  t.true(rules.includes('manifest "missing.yaml" not found in the folder'), rules.join('\n'));
  t.true(rules.includes('2 English hints but 1 Chinese ones'), rules.join('\n'));
  t.true(rules.includes('no quiz entry "nope"'), rules.join('\n'));
  t.true(rules.includes('no check asks for quiz "q"'), rules.join('\n'));
  t.throws(() => loadScenario('broken', root), { instanceOf: InvalidInputError });
});

test('a quiz form may name a fact recorded at the start: it accepts that value, and nothing when the fact is missing', (t) => {
  const quiz = { accept: ['{{fact/chosen-pod}}', 'pod/{{fact/chosen-pod}}'] };
  const memory = { facts: { 'chosen-pod': 'web-6699889b9-lpjgn' } };
  t.true(isAcceptedAnswer(quiz, 'web-6699889b9-lpjgn', memory));
  t.true(isAcceptedAnswer(quiz, ' Pod/WEB-6699889b9-lpjgn ', memory));
  t.false(isAcceptedAnswer(quiz, 'web-6699889b9-2qr4d', memory));
  t.false(isAcceptedAnswer(quiz, '', { facts: { 'chosen-pod': '' } }));
  t.false(isAcceptedAnswer(quiz, 'web-6699889b9-lpjgn', { facts: {} }));
  t.is(expandFacts('pod/{{fact/chosen-pod}}', memory), 'pod/web-6699889b9-lpjgn');
  t.is(expandFacts('{{ fact/other }}', memory), undefined);
});

test('facts, answers and up steps are cross-checked: what they name must exist', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'knetlab-scenarios-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'facts'));
  await writeFile(join(root, 'facts', 'en.md'), 'The task.');
  await writeFile(join(root, 'facts', 'zh.md'), '任务。');
  await writeFile(join(root, 'facts', 'web.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: c, image: x}]}\n');
  await writeFile(
    join(root, 'facts', 'scenario.yaml'),
    [
      'id: facts',
      'title: {en: Facts, zh: 事实}',
      'concept: {en: x, zh: 某}',
      'minutes: 5',
      'manifests: [web.yaml]',
      'setup:',
      '  - curl: {from: pod/web, to: svc/web/hostname, localPort: 40123, record: seen}',
      '  - exec: {in: node/server, command: [hostname], record: seen}',
      '  - exec: {in: node/server, command: [hostname], record: ask}',
      'hints: {en: [one], zh: [一]}',
      'quiz: [{id: q, question: {en: Q, zh: 问}, accept: ["{{fact/unknown}}"]}]',
      'checks:',
      '  - {name: ask, quiz: q}',
      '  - {name: try, description: {en: e, zh: 中}, curl: {from: pod/web, to: "http://{{answer/nope}}/"}}',
      'solve:',
      '  - up: {config: solution/missing.yaml}',
      '  - cli: [proxy, resync]',
      '  - answer: {quiz: q, value: "{{fact/seen}}"}',
    ].join('\n'),
  );
  const rules = checkScenario(join(root, 'facts')).diagnostics.map((d) => d.message);
  t.true(rules.includes('fact "seen" is recorded twice'), rules.join('\n'));
  t.true(rules.includes('fact "ask" has the name of a check'), rules.join('\n'));
  t.true(rules.includes('{{fact/unknown}} names no fact that setup records'), rules.join('\n'));
  t.true(rules.includes('{{answer/nope}} names no quiz entry'), rules.join('\n'));
  t.true(rules.includes('config file "solution/missing.yaml" not found in the folder'), rules.join('\n'));
  t.is(rules.filter((r) => r.includes('{{fact/seen}}')).length, 0, 'a recorded fact may be named');
});

test('a curl step with a source port sends one request', (t) => {
  const text = [
    'id: x',
    'title: {en: x, zh: 某}',
    'concept: {en: x, zh: 某}',
    'minutes: 5',
    'manifests: [a.yaml]',
    'setup: [{curl: {from: pod/c, to: svc/web, count: 3, localPort: 40123}}]',
    'hints: {en: [h], zh: [提]}',
    'checks: [{name: c, description: {en: e, zh: 中}, clusterIP: {service: web, within: 10.96.0.0/12}}]',
    'solve: [{cli: [proxy, resync]}]',
  ].join('\n');
  const parsed = parseYaml(text, 'scenario.yaml');
  const { diagnostics } = validateScenarioData(parsed.data, parsed.sourceMap);
  t.deepEqual(
    diagnostics.map((d) => d.message),
    ['localPort goes with a single request (count 1)'],
  );
});
