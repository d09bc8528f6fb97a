import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../src/api/types.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { InvalidInputError, UsageError } from '../../src/errors.js';
import { loadManifests } from '../../src/manifests/load.js';
import { parseManifests, readManifestText } from '../../src/manifests/parse.js';

const FIXTURES = 'test/fixtures/manifests';
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const formatted = (diagnostics: Parameters<typeof formatDiagnostic>[0][]): string[] => diagnostics.map(formatDiagnostic);

test('a multi-document file: handled kinds kept and normalised, other kinds skipped with warnings', (t) => {
  const { objects, warnings } = parseManifests(fixture('valid/app.yaml'), 'app.yaml');
  t.deepEqual(objects, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'checkout' } } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web', 'app.kubernetes.io/version': '1.10' }, annotations: { built: '2024-01-01' } },
      spec: {
        nodeName: 'agent-1',
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            args: ['--port', '8080'],
            ports: [
              { containerPort: 8080, protocol: 'TCP', name: 'http' },
              { containerPort: 8080, protocol: 'UDP', name: 'http-udp' },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client', namespace: 'default' },
      spec: { nodeSelector: { 'kubernetes.io/hostname': 'server' }, containers: [{ name: 'curl', image: 'curlimages/curl', command: ['sleep', 'infinity'] }] },
    },
  ]);
  t.deepEqual(formatted(warnings), [
    'app.yaml:42:1 warning: Deployment web: not handled by this version of knetlab; skipped — nothing to do if that is expected; this version handles v1 Pod and v1 Namespace',
    'app.yaml:62:1 warning: Service web: not handled by this version of knetlab; skipped — nothing to do if that is expected; this version handles v1 Pod and v1 Namespace',
  ]);
});

test('JSON (tab-indented, as editors write it) is read like YAML', (t) => {
  const { objects, warnings } = parseManifests(fixture('valid/pod.json'), 'pod.json');
  t.deepEqual(warnings, []);
  t.deepEqual(objects, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dns-test', namespace: 'kube-system' },
      spec: {
        containers: [
          {
            name: 'dns',
            image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
            ports: [
              { containerPort: 53, protocol: 'UDP', name: 'dns' },
              { containerPort: 53, protocol: 'TCP', name: 'dns-tcp' },
            ],
          },
        ],
      },
    },
  ]);
});

test('a kind: List contributes its items; skipped items are named by their path', (t) => {
  const { objects, warnings } = parseManifests(fixture('valid/list.yaml'), 'list.yaml');
  t.deepEqual(objects.map((o) => o.metadata.name), ['a', 'b']);
  t.deepEqual(formatted(warnings), [
    'list.yaml:13:5 warning: items[1]: ConfigMap settings: not handled by this version of knetlab; skipped — nothing to do if that is expected; this version handles v1 Pod and v1 Namespace',
  ]);
});

test('empty input and empty documents give no objects', (t) => {
  t.deepEqual(parseManifests('', 'empty.yaml'), { objects: [], warnings: [] });
  t.deepEqual(parseManifests('---\n# nothing here\n---\n', 'empty.yaml'), { objects: [], warnings: [] });
});

test('the same object twice: a warning, and both are kept in order (the later one wins on apply)', (t) => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: c, image: i}]}\n';
  const { objects, warnings } = parseManifests(`${pod}---\n${pod}`, 'twice.yaml');
  t.is(objects.length, 2);
  t.deepEqual(formatted(warnings), ['twice.yaml:6:1 warning: Pod default/web is defined again; it replaces the definition at twice.yaml:1:1 — remove one of the two definitions']);
});

test('a directory: its *.yaml, *.yml and *.json files in name order, not recursively', async (t) => {
  const { objects } = await loadManifests([join(FIXTURES, 'dir')]);
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Namespace/a', 'Pod/b', 'Pod/c']);
});

test('several sources are read in the order given', async (t) => {
  const { objects } = await loadManifests([join(FIXTURES, 'valid/pod.json'), join(FIXTURES, 'dir/b-pods.yaml')]);
  t.deepEqual(objects.map((o) => o.metadata.name), ['dns-test', 'b']);
});

test('"-" reads stdin, shown as <stdin> in diagnostics', async (t) => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 0}]}]}\n';
  const error = await t.throwsAsync(loadManifests(['-'], { readStdin: async () => text }), { instanceOf: InvalidInputError });
  t.deepEqual(formatted(error.diagnostics), ['<stdin>:4:65 spec.containers[0].ports[0].containerPort: 0 is not a port number — use a port between 1 and 65535']);
  const { objects } = await loadManifests(['-'], { readStdin: async () => fixture('valid/list.yaml') });
  t.is(objects.length, 2);
});

test('a missing path is a usage error naming it', async (t) => {
  const error = await t.throwsAsync(loadManifests([join(FIXTURES, 'no-such-file.yaml')]), { instanceOf: UsageError });
  t.true(error.message.includes('no-such-file.yaml'));
  t.is(error.exitCode, 2);
});

test('stdin can be read only once', async (t) => {
  await t.throwsAsync(loadManifests(['-', '-'], { readStdin: async () => '' }), { instanceOf: UsageError });
});

test('the problems of all files are collected into one error', async (t) => {
  const sources = ['invalid/port-numbers.yaml', 'invalid/wrong-api-version.yaml'].map((f) => join(FIXTURES, f));
  const error = await t.throwsAsync(loadManifests(sources), { instanceOf: InvalidInputError });
  const files = new Set(error.diagnostics.map((d) => d.file));
  t.deepEqual([...files], sources);
  t.is(error.exitCode, 2);
});

test('the output is a Pod the rest of the lab can use as typed', (t) => {
  const [pod] = parseManifests(fixture('valid/pod.json'), 'pod.json').objects as Pod[];
  t.is(pod!.spec.containers[0]!.ports![0]!.protocol, 'UDP');
});

// Golden files: each invalid fixture's formatted diagnostics (errors and warnings).
// Regenerate with UPDATE_GOLDEN=1 npx ava test/unit/manifests.test.ts, then review the diff.
const invalidFixtures = readdirSync(join(FIXTURES, 'invalid')).filter((f) => f.endsWith('.yaml'));

test('there are at least 15 invalid fixtures', (t) => {
  t.true(invalidFixtures.length >= 15, String(invalidFixtures.length));
});

for (const name of invalidFixtures) {
  test(`invalid/${name}`, (t) => {
    const file = `invalid/${name}`;
    const text = fixture(file);
    const actual = formatted(readManifestText(text, file).diagnostics).join('\n') + '\n';
    const goldenPath = join(FIXTURES, 'invalid', name.replace(/\.yaml$/, '.expected.txt'));
    if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, actual);
    t.is(actual, readFileSync(goldenPath, 'utf8'));

    const error = t.throws(() => parseManifests(text, file), { instanceOf: InvalidInputError });
    t.true(error.diagnostics.length > 0);
    t.true(error.diagnostics.every((d) => d.severity === 'error' && d.fix !== '' && d.line > 0 && d.col > 0));
  });
}
