// config.yaml parsing and validation. Invalid configs are a corpus of fixtures, each with a golden
// file holding the exact diagnostics; `UPDATE_GOLDEN=1 npx ava test/unit/config.test.ts` rewrites
// the goldens after a deliberate change to the wording (review the diff).
import test from 'ava';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_YAML } from '../../src/config/default.js';
import { checkConfig, loadConfig, parseConfig } from '../../src/config/load.js';
import { proxyModeOf, proxySyncPeriodMs } from '../../src/config/kube-proxy-args.js';
import { closest, editDistance } from '../../src/config/suggest.js';
import type { LabConfig } from '../../src/config/types.js';
import { formatDiagnostic, type Diagnostic } from '../../src/diagnostics.js';
import { InvalidInputError, UsageError } from '../../src/errors.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

const K3S_DEFAULTS: LabConfig = {
  clusterCIDR: '10.42.0.0/16',
  serviceCIDR: '10.43.0.0/16',
  clusterDNS: '10.43.0.10',
  clusterDomain: 'cluster.local',
  serviceNodePortRange: { min: 30000, max: 32767 },
  flannelBackend: 'vxlan',
  proxyMode: 'iptables',
  kubeProxyArgs: [],
  nodeCIDRMaskSize: 24,
  lanCIDR: '192.168.100.0/24',
  hostAccess: false,
  nodes: [
    { name: 'server', role: 'server', labels: {}, ip: '192.168.100.10' },
    { name: 'agent-1', role: 'agent', labels: {}, ip: '192.168.100.11' },
    { name: 'agent-2', role: 'agent', labels: {}, ip: '192.168.100.12' },
  ],
};

// --- valid configs ---

test('the embedded default config parses to the documented k3s defaults, without warnings', (t) => {
  const loaded = parseConfig(DEFAULT_CONFIG_YAML, '<default config>');
  t.deepEqual(loaded.config, K3S_DEFAULTS);
  t.deepEqual(loaded.warnings, []);
});

for (const name of ['empty.yaml', 'comments-only.yaml']) {
  test(`${name} means all defaults`, (t) => {
    t.deepEqual(parseConfig(fixture(`valid/${name}`), name).config, K3S_DEFAULTS);
  });
}

test('a full k3s server config parses; k3s-only keys and kube-proxy flags are warnings', (t) => {
  const { config, warnings } = parseConfig(fixture('valid/k3s-full.yaml'), 'config.yaml');
  t.like(config, { clusterCIDR: '10.52.0.0/16', serviceCIDR: '10.53.0.0/16', clusterDNS: '10.53.0.10', clusterDomain: 'lab.example' });
  t.deepEqual(config.serviceNodePortRange, { min: 30000, max: 30999 });
  t.is(config.nodeCIDRMaskSize, 25);
  t.deepEqual(config.kubeProxyArgs, ['proxy-mode=iptables', 'conntrack-max-per-core=0']);
  // worker-1 claims .10, so the nodes numbered automatically skip it.
  t.deepEqual(config.nodes, [
    { name: 'cp-1', role: 'server', labels: { 'topology.kubernetes.io/zone': 'zone-a', 'node.kubernetes.io/instance-type': '' }, ip: '172.30.0.11' },
    { name: 'worker-1', role: 'agent', labels: { tier: 'web' }, ip: '172.30.0.10' },
    { name: 'worker-2', role: 'agent', labels: {}, ip: '172.30.0.12' },
  ]);
  t.true(warnings.every((w) => w.severity === 'warning'));
  const ignored = warnings.map((w) => w.path);
  for (const key of ['write-kubeconfig-mode', 'tls-san', 'token', 'cluster-init', 'disable', 'node-label', 'kubelet-arg', 'flannel-iface', 'kube-proxy-arg[1]']) t.true(ignored.includes(key), key);
  t.is(formatDiagnostic(warnings[0]!), 'config.yaml:2:1 warning: write-kubeconfig-mode: a k3s setting, ignored by knetlab — nothing to do: it still applies when this file configures a real k3s node (delete it to silence this warning)');
});

test('a single-server lab', (t) => {
  const { config } = parseConfig(fixture('valid/minimal.yaml'), 'config.yaml');
  t.deepEqual(config.nodes, [{ name: 'solo', role: 'server', labels: {}, ip: '192.168.100.10' }]);
});

test('config.example.yaml at the repository root is valid and warning-free', (t) => {
  const { config, warnings } = parseConfig(readFileSync(join(ROOT, 'config.example.yaml'), 'utf8'), 'config.example.yaml');
  t.deepEqual(warnings, []);
  t.like(config, { flannelBackend: 'vxlan', hostAccess: false });
  t.is(config.nodes.length, 3);
  t.is(config.nodes[2]!.ip, '192.168.100.20');
});

test('every valid fixture parses', (t) => {
  for (const name of readdirSync(join(FIXTURES, 'valid')).filter((f) => f.endsWith('.yaml'))) {
    t.notThrows(() => parseConfig(fixture(`valid/${name}`), name), name);
  }
});

test('flannel-backend vxlan written out is the default', (t) => {
  const { config, warnings } = parseConfig(fixture('valid/flannel-vxlan.yaml'), 'config.yaml');
  t.deepEqual(config, K3S_DEFAULTS);
  t.deepEqual(warnings, []);
});

test('an exercise lab: flannel-backend none with host access', (t) => {
  const { config, warnings } = parseConfig(fixture('valid/flannel-none-host-access.yaml'), 'config.yaml');
  t.deepEqual(warnings, []);
  t.like(config, { flannelBackend: 'none', hostAccess: true });
  t.deepEqual(config.nodes.map((n) => n.name), ['server', 'agent-1']);
});

test('kube-proxy in nftables mode: the mode and the sync period are read from kube-proxy-arg', (t) => {
  const { config, warnings } = parseConfig(fixture('valid/proxy-mode-nftables.yaml'), 'config.yaml');
  t.deepEqual(warnings, []);
  t.is(config.proxyMode, 'nftables');
  t.is(proxySyncPeriodMs(config.kubeProxyArgs), 60_000);
  t.is(proxyModeOf(['proxy-mode=nftables', '--proxy-mode=iptables']), 'iptables', 'the last flag wins, as in Go');
  t.is(proxySyncPeriodMs([]), 30_000);
});

/** The errors (not warnings) for a config text. */
const errorsFor = (text: string): Diagnostic[] => checkConfig(text, 'config.yaml').diagnostics.filter((d) => d.severity === 'error');

test('flannel-backend takes vxlan, host-gw and none', (t) => {
  for (const backend of ['vxlan', 'host-gw', 'none'] as const) {
    t.is(parseConfig(`flannel-backend: ${backend}\n`, 'config.yaml').config.flannelBackend, backend);
  }
});

test('backends knetlab does not build are rejected as not available, with the three that are', (t) => {
  for (const backend of ['wireguard-native', 'wireguard', 'ipsec', 'extension', 'udp', 'ipip', 'alloc']) {
    const errors = errorsFor(`flannel-backend: ${backend}\n`);
    t.is(errors.length, 1, backend);
    const line = formatDiagnostic(errors[0]!);
    t.regex(line, new RegExp(`^config\\.yaml:1:18 flannel-backend: ${backend} (is not available in knetlab|is a backend of flannel itself)`), backend);
    t.regex(line, / — use vxlan \(.*\), host-gw \(.*\) or none \(.*\)$/, backend);
  }
});

test('a misspelt backend gets a did-you-mean; anything else the list', (t) => {
  const fix = (backend: string) => errorsFor(`flannel-backend: ${backend}\n`).map((d) => d.fix);
  t.deepEqual(fix('vxaln'), ['did you mean `vxlan`?']);
  t.deepEqual(fix('VXLAN'), ['did you mean `vxlan`?']);
  t.deepEqual(fix('host_gw'), ['did you mean `host-gw`?']);
  t.deepEqual(fix('non'), ['did you mean `none`?']);
  // Close to an unavailable backend: suggesting it would only fail next time.
  t.regex(fix('wireguard-nativ')[0]!, /^use vxlan /);
  t.regex(fix('flannel')[0]!, /^use vxlan /);
});

test('host-access is a boolean, false unless written', (t) => {
  t.is(parseConfig('host-access: true\n', 'config.yaml').config.hostAccess, true);
  t.is(parseConfig('host-access: false\n', 'config.yaml').config.hostAccess, false);
  t.is(parseConfig('', 'config.yaml').config.hostAccess, false);
  for (const [value, got] of [['yes', '"yes"'], ['"true"', '"true"'], ['1', 'a number (1)'], ['[true]', 'a list']]) {
    const errors = errorsFor(`host-access: ${value}\n`);
    t.deepEqual(errors.map(formatDiagnostic), [`config.yaml:1:14 host-access: expected true or false, got ${got} — write \`host-access: true\` or \`host-access: false\`, without quotes`], value);
  }
  t.regex(formatDiagnostic(errorsFor('host-access:\n')[0]!), /host-access: has no value; expected true or false — write a value, e\.g\. `host-access: true`, or delete the line to use the default$/);
});

// --- invalid configs: the golden corpus ---

const invalid = readdirSync(join(FIXTURES, 'invalid')).filter((f) => f.endsWith('.yaml')).sort();

test('the invalid corpus has at least 44 configs, each with a golden file', (t) => {
  t.true(invalid.length >= 44, `${invalid.length} fixtures`);
  if (process.env.UPDATE_GOLDEN) return t.pass();
  for (const name of invalid) t.true(existsSync(join(FIXTURES, 'invalid', name.replace(/\.yaml$/, '.expected.txt'))), name);
});

for (const name of invalid) {
  test(`invalid/${name} is rejected with the golden diagnostics`, (t) => {
    const text = fixture(`invalid/${name}`);
    const { config, diagnostics } = checkConfig(text, 'config.yaml');
    const output = diagnostics.map(formatDiagnostic).join('\n') + '\n';
    const golden = join(FIXTURES, 'invalid', name.replace(/\.yaml$/, '.expected.txt'));
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, output);
    t.is(output, readFileSync(golden, 'utf8'));

    t.is(config, undefined);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    t.true(errors.length > 0);
    for (const line of output.trimEnd().split('\n')) {
      t.regex(line, /^config\.yaml:\d+:\d+ /, line);
      t.true(line.includes(' — '), `no fix in: ${line}`);
    }
    // parseConfig throws every error at once, and exits 2.
    const error = t.throws(() => parseConfig(text, 'config.yaml'), { instanceOf: InvalidInputError });
    t.is(error.exitCode, 2);
    t.deepEqual(error.diagnostics, errors);
  });
}

test('one file with many problems reports all of them', (t) => {
  const error = t.throws(() => parseConfig(fixture('invalid/many-problems.yaml'), 'config.yaml'), { instanceOf: InvalidInputError });
  const paths = error.diagnostics.map((d) => d.path);
  t.deepEqual(paths, ['service-cidr', 'cluster-dns', 'cluster-domian', 'flannel-backend', 'kube-proxy-arg', 'node-cidr-mask-size-ipv4', 'host-access', 'nodes[0].name', 'nodes[0].role', 'nodes[0].labels.zone', 'nodes[1].ip', 'nodes[2].name']);
  t.regex(error.message, /^12 problems found; nothing was changed:/);
});

test('the message from the issue reads as promised', (t) => {
  const { diagnostics } = checkConfig('# lab\n\ncluster-cidr: "10.42.0.0/33"\n', 'config.yaml');
  t.deepEqual(diagnostics.map(formatDiagnostic), ['config.yaml:3:15 cluster-cidr: "10.42.0.0/33" is not a valid IPv4 CIDR — write it as ADDRESS/PREFIX, e.g. 10.42.0.0/16']);
});

// --- did you mean ---

test('edit distance counts a swap of two neighbours as one edit', (t) => {
  t.is(editDistance('cluster-cdir', 'cluster-cidr'), 1);
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('', 'abc'), 3);
});

test('closest matches typos and other spellings, and gives up on unrelated words', (t) => {
  const keys = ['cluster-cidr', 'service-cidr', 'cluster-dns', 'lan-cidr'];
  t.is(closest('cluster-cdir', keys), 'cluster-cidr');
  t.is(closest('clusterCidr', keys), 'cluster-cidr');
  t.is(closest('SERVICE_CIDR', keys), 'service-cidr');
  t.is(closest('favourite-colour', keys), undefined);
});

// --- loading files ---

test('a missing -c file is a usage error naming it', async (t) => {
  const error = await t.throwsAsync(loadConfig(join(tmpdir(), 'knetlab-no-such-config.yaml')), { instanceOf: UsageError });
  t.is(error.exitCode, 2);
  t.regex(error.message, /knetlab-no-such-config\.yaml" not found/);
});

test('a given file is read and named by its path', async (t) => {
  const file = join(FIXTURES, 'valid/minimal.yaml');
  const loaded = await loadConfig(file);
  t.is(loaded.file, file);
  t.is(loaded.config.nodes[0]!.name, 'solo');
});

test.serial('without -c: ./config.yaml when it exists, else the embedded default', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'knetlab-config-'));
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    const fallback = await loadConfig();
    t.is(fallback.file, '<default config>');
    t.deepEqual(fallback.config, K3S_DEFAULTS);

    await writeFile(join(dir, 'config.yaml'), 'cluster-cidr: 10.99.0.0/16\nnodes: [{name: only, role: server}]\n');
    const local = await loadConfig();
    t.is(local.file, 'config.yaml');
    t.is(local.config.clusterCIDR, '10.99.0.0/16');

    await writeFile(join(dir, 'config.yaml'), 'cluster-cidr: 10.99.0.0/33\n');
    const error = await t.throwsAsync(loadConfig(), { instanceOf: InvalidInputError });
    t.regex(error.message, /config\.yaml:1:15 cluster-cidr:/);
  } finally {
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  }
});
