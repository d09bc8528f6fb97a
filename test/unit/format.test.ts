// kubectl's output, character for character: table layout, the AGE column's HumanDuration, and the
// columns of `get pods` / `get nodes` (with -A and -o wide).
import test from 'ava';
import type { Node, Pod } from '../../src/api/types.js';
import { nodesTable, podsTable } from '../../src/format/objects.js';
import { age, formatTable, humanDuration } from '../../src/format/table.js';

// --- formatTable ---

test('formatTable: columns left-aligned, separated by exactly 3 spaces, no trailing spaces', (t) => {
  const out = formatTable(
    ['NAME', 'READY', 'STATUS'],
    [
      ['a', '1/1', 'Running'],
      ['a-much-longer-name', '0/1', 'Pending'],
    ],
  );
  t.is(out, ['NAME                 READY   STATUS', 'a                    1/1     Running', 'a-much-longer-name   0/1     Pending'].join('\n'));
});

test('formatTable: a header wider than its cells sets the width; the last column is never padded', (t) => {
  const out = formatTable(['X', 'LONG-HEADER', 'Z'], [['1', '2', 'a-long-last-cell'], ['1', '2', '']]);
  t.is(out, ['X   LONG-HEADER   Z', '1   2             a-long-last-cell', '1   2'].join('\n'));
  for (const line of out.split('\n')) t.false(/\s$/.test(line), JSON.stringify(line));
});

test('formatTable: empty trailing cells leave no trailing spaces, missing cells count as empty', (t) => {
  const out = formatTable(['A', 'B', 'C'], [['x', '', ''], ['y']]);
  t.is(out, 'A   B   C\nx\ny');
});

test('formatTable: no rows prints the header line only, without a trailing newline', (t) => {
  t.is(formatTable(['NAME', 'STATUS', 'AGE'], []), 'NAME   STATUS   AGE');
});

// --- humanDuration: k8s.io/apimachinery/pkg/util/duration.HumanDuration ---

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

const durations: [number, string][] = [
  [0, '0s'],
  [999, '0s'],
  [1 * S, '1s'],
  [1999, '1s'], // truncated, not rounded
  [59 * S, '59s'],
  [60 * S, '60s'],
  [119 * S, '119s'],
  [119 * S + 999, '119s'],
  [2 * M, '2m'],
  [2 * M + 1 * S, '2m1s'],
  [5 * M + 30 * S, '5m30s'],
  [9 * M + 59 * S, '9m59s'],
  [10 * M, '10m'],
  [10 * M + 59 * S, '10m'],
  [119 * M, '119m'],
  [179 * M + 59 * S, '179m'],
  [3 * H, '3h'],
  [3 * H + 1 * M, '3h1m'],
  [3 * H + 59 * S, '3h'],
  [7 * H + 59 * M, '7h59m'],
  [8 * H, '8h'],
  [8 * H + 59 * M, '8h'],
  [47 * H + 59 * M, '47h'],
  [2 * D, '2d'],
  [2 * D + 1 * H, '2d1h'],
  [2 * D + 59 * M, '2d'],
  [7 * D + 23 * H, '7d23h'],
  [8 * D, '8d'],
  [8 * D + 23 * H, '8d'],
  [729 * D + 23 * H, '729d'],
  [2 * Y, '2y'],
  [2 * Y + 1 * D, '2y1d'],
  [2 * Y + 1 * D + 23 * H, '2y1d'],
  [7 * Y + 364 * D, '7y364d'],
  [8 * Y, '8y'],
  [8 * Y + 364 * D, '8y'],
  [100 * Y, '100y'],
  // Clock skew: up to 2 seconds (excluded) in the future still reads as now.
  [-1 * S, '0s'],
  [-1999, '0s'],
];

for (const [ms, expected] of durations) {
  test(`humanDuration(${ms} ms) = ${expected}`, (t) => {
    t.is(humanDuration(ms), expected);
  });
}

// HumanDuration returns "<invalid>" for `int(d.Seconds()) < -1`, i.e. 2 s or more in the future.
for (const ms of [-2 * S, -1 * H]) {
  test(`humanDuration(${ms} ms) = <invalid>`, (t) => {
    t.is(humanDuration(ms), '<invalid>');
  });
}

test('age: from a timestamp and a clock; <unknown> without a timestamp', (t) => {
  const now = Date.parse('2025-01-10T12:00:00Z');
  t.is(age('2025-01-10T11:57:00Z', now), '3m');
  t.is(age('2025-01-10T11:57:30Z', now), '2m30s');
  t.is(age('2025-01-08T11:00:00Z', now), '2d1h');
  t.is(age('2025-01-10T12:00:00Z', now), '0s');
  t.is(age(undefined, now), '<unknown>');
});

// --- podsTable ---

/** Ten and a half days ago: reads "10d" for the next ten hours, so the table does not depend on the clock. */
const CREATED = new Date(Date.now() - 10 * D - 12 * H).toISOString().replace(/\.\d+Z$/, 'Z');

function runningPod(namespace: string, name: string, node: string, ip: string, restarts = 0): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, creationTimestamp: CREATED },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      containerStatuses: [{ name: 'c', ready: true, restartCount: restarts, image: 'busybox', state: { running: { startedAt: CREATED } } }],
    },
  };
}

function pendingPod(namespace: string, name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, creationTimestamp: CREATED },
    spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] },
  };
}

const PODS = [runningPod('default', 'web-1', 'agent-1', '10.42.1.2'), runningPod('kube-system', 'coredns', 'server', '10.42.0.2', 3), pendingPod('default', 'stuck')];

test('podsTable: kubectl get pods', (t) => {
  t.is(
    podsTable(PODS, { wide: false, allNamespaces: false }),
    ['NAME      READY   STATUS    RESTARTS   AGE', 'web-1     1/1     Running   0          10d', 'coredns   1/1     Running   3          10d', 'stuck     0/2     Pending   0          10d'].join('\n'),
  );
});

test('podsTable: kubectl get pods -A -o wide', (t) => {
  t.is(
    podsTable(PODS, { wide: true, allNamespaces: true }),
    [
      'NAMESPACE     NAME      READY   STATUS    RESTARTS   AGE   IP          NODE      NOMINATED NODE   READINESS GATES',
      'default       web-1     1/1     Running   0          10d   10.42.1.2   agent-1   <none>           <none>',
      'kube-system   coredns   1/1     Running   3          10d   10.42.0.2   server    <none>           <none>',
      'default       stuck     0/2     Pending   0          10d   <none>      <none>    <none>           <none>',
    ].join('\n'),
  );
});

test('podsTable: -A puts NAMESPACE first; -o wide adds four columns at the end', (t) => {
  const header = (wide: boolean, allNamespaces: boolean) => podsTable([], { wide, allNamespaces }).split(/ {3,}/);
  t.deepEqual(header(false, true), ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  t.deepEqual(header(true, false), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
});

// --- nodesTable ---

function node(name: string, roleLabels: string[], ip: string, ready = true): Node {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' };
  for (const role of roleLabels) labels[`node-role.kubernetes.io/${role}`] = 'true';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels, creationTimestamp: CREATED },
    spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'] },
    status: {
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      nodeInfo: {
        kubeletVersion: 'v1.33.0+knetlab',
        kubeProxyVersion: 'v1.33.0+knetlab',
        kernelVersion: '6.18.0',
        osImage: 'knetlab',
        operatingSystem: 'linux',
        architecture: 'amd64',
        containerRuntimeVersion: 'knetlab://0.1.0',
      },
    },
  };
}

// Labels in the order k3s sets them (master after control-plane would sort the same; put it first to prove the sort).
const NODES = [node('server', ['master', 'control-plane'], '192.168.100.10'), node('agent-1', [], '192.168.100.11'), node('agent-2', [], '192.168.100.12', false)];

test('nodesTable: ROLES control-plane,master for a server, <none> for an agent', (t) => {
  t.is(
    nodesTable(NODES, { wide: false }),
    [
      'NAME      STATUS     ROLES                  AGE   VERSION',
      'server    Ready      control-plane,master   10d   v1.33.0+knetlab',
      'agent-1   Ready      <none>                 10d   v1.33.0+knetlab',
      'agent-2   NotReady   <none>                 10d   v1.33.0+knetlab',
    ].join('\n'),
  );
});

test('nodesTable: -o wide', (t) => {
  t.is(
    nodesTable(NODES.slice(0, 2), { wide: true }),
    [
      'NAME      STATUS   ROLES                  AGE   VERSION           INTERNAL-IP      EXTERNAL-IP   OS-IMAGE   KERNEL-VERSION   CONTAINER-RUNTIME',
      'server    Ready    control-plane,master   10d   v1.33.0+knetlab   192.168.100.10   <none>        knetlab    6.18.0           knetlab://0.1.0',
      'agent-1   Ready    <none>                 10d   v1.33.0+knetlab   192.168.100.11   <none>        knetlab    6.18.0           knetlab://0.1.0',
    ].join('\n'),
  );
});

test('nodesTable: a node without a Ready condition is NotReady; no timestamp is <unknown>', (t) => {
  const n = node('x', ['worker'], '10.0.0.1');
  n.status.conditions = [];
  delete n.metadata.creationTimestamp;
  t.is(nodesTable([n], { wide: false }), ['NAME   STATUS     ROLES    AGE         VERSION', 'x      NotReady   worker   <unknown>   v1.33.0+knetlab'].join('\n'));
});

test('nodesTable: the agent\'s own Node objects of the default lab show k3s roles', async (t) => {
  const { parseConfig } = await import('../../src/config/load.js');
  const { DEFAULT_CONFIG_YAML } = await import('../../src/config/default.js');
  const { planLab } = await import('../../src/dataplane/plan.js');
  const { nodeObject } = await import('../../src/agent/objects.js');
  const plan = planLab('lab1', parseConfig(DEFAULT_CONFIG_YAML, 'default').config);
  const rows = nodesTable(plan.nodes.map(nodeObject), { wide: false }).split('\n').slice(1).map((r) => r.split(/ {3,}/));
  t.deepEqual(
    rows.map((r) => [r[0], r[1], r[2]]),
    [
      ['server', 'Ready', 'control-plane,master'],
      ['agent-1', 'Ready', '<none>'],
      ['agent-2', 'Ready', '<none>'],
    ],
  );
});
