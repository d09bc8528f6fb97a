import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deployment, Pod, Service } from '../../src/api/types.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { InvalidInputError, UsageError } from '../../src/errors.js';
import { loadManifests } from '../../src/manifests/load.js';
import { parseManifests, readManifestText } from '../../src/manifests/parse.js';
import { formatSelector, selectorMatches, unmatchedRequirement } from '../../src/manifests/selector.js';

const FIXTURES = 'test/fixtures/manifests';
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const formatted = (diagnostics: Parameters<typeof formatDiagnostic>[0][]): string[] => diagnostics.map(formatDiagnostic);

const HANDLED = 'this version handles v1 Pod, v1 Namespace, apps/v1 Deployment and v1 Service';

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
            readinessProbe: {
              httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
              initialDelaySeconds: 0,
              timeoutSeconds: 1,
              periodSeconds: 10,
              successThreshold: 1,
              failureThreshold: 3,
            },
          },
        ],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', tier: 'frontend' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }] }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client', namespace: 'default' },
      spec: { nodeSelector: { 'kubernetes.io/hostname': 'server' }, containers: [{ name: 'curl', image: 'curlimages/curl', command: ['sleep', 'infinity'] }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        type: 'ClusterIP',
        selector: { app: 'web' },
        ports: [{ protocol: 'TCP', port: 80, targetPort: 'http' }],
        sessionAffinity: 'None',
        internalTrafficPolicy: 'Cluster',
      },
    },
  ]);
  t.deepEqual(formatted(warnings), [`app.yaml:62:1 warning: ConfigMap web-settings: not handled by this version of knetlab; skipped — nothing to do if that is expected; ${HANDLED}`]);
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
    `list.yaml:13:5 warning: items[1]: ConfigMap settings: not handled by this version of knetlab; skipped — nothing to do if that is expected; ${HANDLED}`,
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

// --- Deployments, Services, probes ---

test('Deployments: defaults filled in (replicas 1, probe timings, path "/"), rollout settings dropped, exec probes dropped with a warning', (t) => {
  const { objects, warnings } = parseManifests(fixture('valid/deployment.yaml'), 'deployment.yaml');
  const [api, minimal] = objects as Deployment[];
  t.is(api!.spec.replicas, 0);
  t.deepEqual(api!.spec.selector, {
    matchLabels: { app: 'api' },
    matchExpressions: [
      { key: 'track', operator: 'In', values: ['stable', 'canary'] },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  });
  t.deepEqual(api!.spec.template.metadata, { labels: { app: 'api', track: 'canary' }, annotations: { note: 'canary build' } });
  const [container, sidecar] = api!.spec.template.spec.containers;
  // periodSeconds: 0 is the apiserver's "use the default", 10.
  t.deepEqual(container!.readinessProbe, {
    httpGet: { path: '/', port: 9376, scheme: 'HTTP' },
    initialDelaySeconds: 0,
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  t.deepEqual(sidecar, { name: 'sidecar', image: 'busybox' });
  t.false('minReadySeconds' in api!.spec);
  t.is(minimal!.spec.replicas, 1);
  t.deepEqual(formatted(warnings), [
    'deployment.yaml:33:13 warning: spec.template.spec.containers[1].readinessProbe.exec: an exec probe is ignored by knetlab; the pod counts as ready as soon as it runs — use `httpGet:` to see readiness in the lab (every pod answers GET /healthz)',
  ]);
});

test('Services: the apiserver\'s defaults filled in; Endpoints and EndpointSlices skipped with their own warning', (t) => {
  const { objects, warnings } = parseManifests(fixture('valid/services.yaml'), 'services.yaml');
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Service/dns', 'Service/db', 'Service/sticky', 'Service/external-db']);
  t.deepEqual(objects.slice(0, 1), [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dns', namespace: 'kube-system' },
      spec: {
        type: 'NodePort',
        selector: { 'k8s-app': 'kube-dns' },
        clusterIP: '10.43.0.10', // from clusterIPs
        clusterIPs: ['10.43.0.10'],
        ports: [
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 30053 },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53, nodePort: 30053 },
          { name: 'metrics', protocol: 'TCP', port: 9153, targetPort: 9153 }, // targetPort 0 and nodePort 0 mean "default"
        ],
        sessionAffinity: 'None',
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Cluster',
      },
    },
  ]);
  const [, db, sticky, external] = objects as Service[];
  t.deepEqual(db!.spec, { type: 'ClusterIP', selector: { app: 'db' }, clusterIP: 'None', clusterIPs: ['None'], sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' });
  t.deepEqual(sticky!.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  t.is(sticky!.spec.internalTrafficPolicy, 'Local');
  t.deepEqual(external!.spec, {
    type: 'ClusterIP',
    clusterIP: '10.43.0.50',
    clusterIPs: ['10.43.0.50'],
    ports: [{ protocol: 'TCP', port: 5432, targetPort: 5432 }],
    sessionAffinity: 'None',
    internalTrafficPolicy: 'Cluster',
  });
  const fix = 'the lab computes the endpoints of each Service from its selector and the ready pods; `knetlab proxy render -f` reads Endpoints and EndpointSlices';
  t.deepEqual(formatted(warnings), [
    `services.yaml:47:1 warning: Endpoints external-db: not applied by knetlab; skipped — ${fix}`,
    `services.yaml:55:1 warning: EndpointSlice external-db-1: not applied by knetlab; skipped — ${fix}`,
  ]);
});

test('examples/web.yaml: a Deployment and a NodePort Service, with no warnings', async (t) => {
  const { objects, warnings } = await loadManifests(['examples/web.yaml']);
  t.deepEqual(warnings, []);
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/web', 'Service/web']);
  const [deployment, service] = objects as [Deployment, Service];
  t.is(deployment.spec.replicas, 3);
  const container = deployment.spec.template.spec.containers[0]!;
  t.deepEqual(container.readinessProbe?.httpGet, { path: '/healthz', port: 'http', scheme: 'HTTP' });
  t.is(container.readinessProbe?.periodSeconds, 1);
  t.is(container.readinessProbe?.failureThreshold, 1);
  t.deepEqual(service.spec.ports, [
    { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 },
    { name: 'udp', protocol: 'UDP', port: 8081, targetPort: 'udp' },
  ]);
  t.is(service.spec.externalTrafficPolicy, 'Cluster');
});

test('a readinessProbe on a plain Pod is checked as in a Deployment', (t) => {
  const pod = (port: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: [{name: http, containerPort: 80}]\n    readinessProbe: {httpGet: {port: ${port}}}\n`;
  t.is((parseManifests(pod('http'), 'p.yaml').objects[0] as Pod).spec.containers[0]!.readinessProbe?.httpGet?.port, 'http');
  const error = t.throws(() => parseManifests(pod('web'), 'p.yaml'), { instanceOf: InvalidInputError });
  t.regex(error.message, /container "c" has no port named "web"; its named ports are "http"/);
});

test('label selectors match as the apiserver matches them, and print as kubectl prints them', (t) => {
  const selector = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'track', operator: 'In' as const, values: ['stable', 'canary'] },
      { key: 'tier', operator: 'NotIn' as const, values: ['db'] },
      { key: 'team', operator: 'Exists' as const },
      { key: 'legacy', operator: 'DoesNotExist' as const },
    ],
  };
  t.is(formatSelector(selector), 'app=web,track in (canary,stable),tier notin (db),team,!legacy');
  t.true(selectorMatches(selector, { app: 'web', track: 'stable', team: 'a' }));
  t.true(selectorMatches(selector, { app: 'web', track: 'canary', tier: 'front', team: '' }));
  t.is(unmatchedRequirement(selector, { app: 'api', track: 'stable', team: 'a' }), 'app=web');
  t.is(unmatchedRequirement(selector, { app: 'web', track: 'beta', team: 'a' }), 'track in (canary,stable)');
  t.is(unmatchedRequirement(selector, { app: 'web', track: 'stable', tier: 'db', team: 'a' }), 'tier notin (db)');
  t.is(unmatchedRequirement(selector, { app: 'web', track: 'stable' }), 'team');
  t.is(unmatchedRequirement(selector, { app: 'web', track: 'stable', team: 'a', legacy: 'yes' }), '!legacy');
});

test('a Service or Deployment inside a kind: List is validated like a top-level one', (t) => {
  const list = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: web}\n  spec: {type: LoadBalancer, ports: [{port: 80}]}\n';
  const error = t.throws(() => parseManifests(list, 'list.yaml'), { instanceOf: InvalidInputError });
  t.deepEqual(
    formatted(error.diagnostics),
    ["list.yaml:7:16 items[0].spec.type: type LoadBalancer is not supported by knetlab yet — use `type: NodePort` and reach the Service on any node's IP at its nodePort (on k3s, ServiceLB builds a LoadBalancer the same way)"],
  );
});

// Golden files: each invalid fixture's formatted diagnostics (errors and warnings).
// Regenerate with UPDATE_GOLDEN=1 npx ava test/unit/manifests.test.ts, then review the diff.
const invalidFixtures = readdirSync(join(FIXTURES, 'invalid')).filter((f) => f.endsWith('.yaml'));

test('there are at least 35 invalid fixtures', (t) => {
  t.true(invalidFixtures.length >= 35, String(invalidFixtures.length));
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
