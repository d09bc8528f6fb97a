// A pod's workload, end to end: real sockets in a real network namespace, answered for real
// clients (curl, python) run inside that namespace, and invisible from the root namespace. Also
// measures what 200 pods cost. Needs root; every test deletes its namespaces even on failure.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { performance } from 'node:perf_hooks';
import { PodWorkload, type PodIdentity } from '../../src/agent/workload.js';
import { KnetlabError } from '../../src/errors.js';

const isRoot = process.getuid?.() === 0;
const serial = isRoot || process.env.CI ? test.serial : test.skip;
if (!isRoot) console.log('workload e2e tests skipped: they need root');

let namespaceCount = 0;

async function podNamespace(t: ExecutionContext): Promise<string> {
  const name = `kn.t-workload-${process.pid}-${namespaceCount++}`;
  t.teardown(() => execa('ip', ['netns', 'del', name], { reject: false }));
  await execa('ip', ['netns', 'add', name]);
  await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

function startWorkload(t: ExecutionContext, netns: string, pod: PodIdentity, ports: Parameters<typeof PodWorkload.start>[2]) {
  const workload = PodWorkload.start(netns, pod, ports);
  t.teardown(() => workload.close());
  return workload;
}

function podNamed(name: string, ready = true) {
  return { name, namespace: 'default', healthy: ready };
}

async function curlIn(netns: string, url: string): Promise<{ status: number; body: string }> {
  const { stdout } = await execa('ip', ['netns', 'exec', netns, 'curl', '-s', '--max-time', '2', '-w', '\n%{http_code}', url]);
  const split = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, split), status: Number(stdout.slice(split + 1)) };
}

const udpClient = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(sys.argv[1].encode(), ('127.0.0.1', int(sys.argv[2])))
sys.stdout.write(s.recvfrom(65535)[0].decode())
`;

async function udpIn(netns: string, port: number, datagram: string): Promise<string> {
  const { stdout } = await execa('ip', ['netns', 'exec', netns, 'python3', '-c', udpClient, datagram, String(port)], { stripFinalNewline: false });
  return stdout;
}

async function listeningPorts(netns: string | undefined, protocol: 'TCP' | 'UDP'): Promise<string> {
  const ss = ['ss', '-lnH', protocol === 'TCP' ? '-t' : '-u'];
  const { stdout } = netns ? await execa('ip', ['netns', 'exec', netns, ...ss]) : await execa(ss[0]!, ss.slice(1));
  return stdout;
}

serial('every endpoint answers as agnhost netexec does, from inside the pod only', async (t) => {
  const netns = await podNamespace(t);
  const rootTcpBefore = await listeningPorts(undefined, 'TCP');
  const rootUdpBefore = await listeningPorts(undefined, 'UDP');
  const pod = podNamed('web-7d4b9c-x2x9q');
  startWorkload(t, netns, pod, [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 5353, protocol: 'UDP' }]);

  t.deepEqual(await curlIn(netns, 'http://127.0.0.1:8080/hostname'), { status: 200, body: pod.name });
  t.deepEqual(await curlIn(netns, 'http://127.0.0.1:8080/'), { status: 200, body: pod.name });
  t.regex((await curlIn(netns, 'http://127.0.0.1:8080/clientip')).body, /^127\.0\.0\.1:\d+$/);
  t.deepEqual(await curlIn(netns, 'http://127.0.0.1:8080/echo?msg=hello%20pod'), { status: 200, body: 'hello pod' });
  t.is((await curlIn(netns, 'http://127.0.0.1:8080/nope')).status, 404);
  t.deepEqual(await curlIn(netns, 'http://127.0.0.1:8080/healthz'), { status: 200, body: 'ok' });
  pod.healthy = false;
  t.is((await curlIn(netns, 'http://127.0.0.1:8080/healthz')).status, 503);

  t.is(await udpIn(netns, 5353, 'hostname'), pod.name);
  t.regex(await udpIn(netns, 5353, 'clientip'), /^127\.0\.0\.1:\d+$/);
  t.is(await udpIn(netns, 5353, 'echo hi there'), 'hi there');
  t.is(await udpIn(netns, 5353, 'anything else'), 'anything else');

  t.regex(await listeningPorts(netns, 'TCP'), /:8080\s/);
  t.regex(await listeningPorts(netns, 'UDP'), /0\.0\.0\.0:5353\s/);
  t.is(await listeningPorts(undefined, 'TCP'), rootTcpBefore);
  t.is(await listeningPorts(undefined, 'UDP'), rootUdpBefore);
});

serial('close() drops keep-alive connections, so nothing is left in the namespace', async (t) => {
  const netns = await podNamespace(t);
  const workload = startWorkload(t, netns, podNamed('idle'), [{ containerPort: 8080, protocol: 'TCP' }]);
  // A client that holds a kept-alive connection open until the server hangs up.
  const client = execa('ip', ['netns', 'exec', netns, 'python3', '-c', `
import socket, sys
s = socket.create_connection(('127.0.0.1', 8080))
s.sendall(b'GET /hostname HTTP/1.1\\r\\nHost: pod\\r\\n\\r\\n')
print(s.recv(4096).split(b'\\r\\n')[0].decode(), flush=True)
s.settimeout(10)
print('eof' if s.recv(4096) == b'' else 'data', flush=True)
`]);
  const firstLine = await new Promise<string>((resolve) => client.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  t.is(firstLine.trim(), 'HTTP/1.1 200 OK');
  const started = performance.now();
  await workload.close();
  t.true(performance.now() - started < 1000, 'close() waited for the idle connection');
  t.is((await client).stdout.split('\n').at(-1), 'eof');
  t.is(await listeningPorts(netns, 'TCP'), '');
  // The server hung up first, so the kernel keeps a TIME-WAIT entry; no socket of ours is left.
  t.is((await execa('ip', ['netns', 'exec', netns, 'ss', '-tanH', 'state', 'connected', 'state', 'listening'])).stdout.replace(/^TIME-WAIT.*\n?/gm, ''), '');
});

serial('a port that cannot be bound names the pod and the port, and the others are closed', async (t) => {
  const netns = await podNamespace(t);
  startWorkload(t, netns, podNamed('first'), [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }]);
  for (const taken of [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }] as const) {
    const error = t.throws(() => PodWorkload.start(netns, podNamed('second'), [{ containerPort: 9090, protocol: 'TCP' }, taken]), {
      instanceOf: KnetlabError,
    });
    t.regex(error!.message, new RegExp(`pod default/second: cannot listen on ${taken.protocol} port ${taken.containerPort}`));
  }
  t.notRegex(await listeningPorts(netns, 'TCP'), /:9090\s/);
  t.throws(() => PodWorkload.start(netns, podNamed('twice'), [{ containerPort: 1, protocol: 'UDP' }, { containerPort: 1, protocol: 'UDP' }]), {
    message: /UDP port 1 is listed twice/,
  });
});

serial('a pod whose namespace is gone cannot start', (t) => {
  t.throws(() => PodWorkload.start('kn.t-workload-missing', podNamed('ghost'), [{ containerPort: 80, protocol: 'TCP' }]), {
    instanceOf: KnetlabError,
    message: /network namespace "kn\.t-workload-missing" does not exist/,
  });
});

serial('200 pods with one TCP port each: memory and bind time', async (t) => {
  const count = 200;
  const names = Array.from({ length: count + 1 }, (_, i) => `kn.t-workload-${process.pid}-m${i}`);
  t.teardown(() => execa('ip', ['-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}\n`).join(''), reject: false }));
  await execa('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
  const [warmUp, ...pods] = names;
  // The first pod loads http and the addon's code paths, so that the measurement is per pod.
  await PodWorkload.start(warmUp!, podNamed('warm-up'), [{ containerPort: 8080, protocol: 'TCP' }]).close();

  const workloads: PodWorkload[] = [];
  t.teardown(() => Promise.all(workloads.map((w) => w.close())));
  const before = process.memoryUsage();
  const started = performance.now();
  for (const netns of pods) workloads.push(PodWorkload.start(netns, podNamed(netns), [{ containerPort: 8080, protocol: 'TCP' }]));
  const bindMs = performance.now() - started;
  const after = process.memoryUsage();
  // RSS grows in whole heap pages, so the JS heap growth (garbage included) is logged beside it.
  const perPodKiB = (after.rss - before.rss) / count / 1024;
  const heapPerPodKiB = (after.heapUsed - before.heapUsed) / count / 1024;
  t.log(`${count} pods: bound in ${bindMs.toFixed(1)} ms (${(bindMs / count).toFixed(3)} ms a pod)`);
  t.log(`per pod: RSS +${perPodKiB.toFixed(1)} KiB, JS heap +${heapPerPodKiB.toFixed(1)} KiB`);

  t.regex(await listeningPorts(pods[count - 1], 'TCP'), /:8080\s/);
  t.true(perPodKiB < 1024, `a pod costs ${perPodKiB.toFixed(1)} KiB, over the 1 MiB budget`);
  const started2 = performance.now();
  await Promise.all(workloads.map((w) => w.close()));
  t.log(`closed in ${(performance.now() - started2).toFixed(1)} ms`);
});
