// Services for real, end to end: a Deployment behind ClusterIP and NodePort Services on a
// three-node lab, checked with real packets — load balancing, NodePort from the LAN, hairpin,
// masquerade, session affinity, REJECT without endpoints, UDP, named target ports, pod
// replacement and readiness — and kube-proxy's own chain names in the nodes' tables.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { PROXY_MODES, e2e, ok, useLab, getPods, proxyModeConfig, proxyRules, type PodJson, type ProxyModeName } from '../helpers/lab.js';
import { AGNHOST, EMPTY_SERVICE, webDeployment, webNodePortService } from '../helpers/manifests.js';

const MANIFEST = `
${webDeployment({
  ports: ['{name: http, containerPort: 8080}', '{name: alt, containerPort: 9090}', '{name: udp, containerPort: 8081, protocol: UDP}'],
  readiness: true,
})}---
${webNodePortService([
  '{name: http, port: 80, targetPort: http, nodePort: 30080}',
  '{name: alt, port: 9090, targetPort: alt}',
  '{name: udp, port: 53, targetPort: udp, protocol: UDP}',
])}---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 8080}]
---
${EMPTY_SERVICE}---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec:
  containers:
  - name: netexec
    image: ${AGNHOST}
    ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  selector: {app: solo}
  ports: [{port: 80, targetPort: 8080}]
`;

interface ServiceJson {
  spec: { clusterIP: string; ports: { name?: string; port: number; nodePort?: number }[] };
}

async function bringUp(t: ExecutionContext, purpose: string, mode: ProxyModeName): Promise<string> {
  const lab = useLab(t, `${purpose}-${mode.slice(0, 3)}`);
  const file = join(mkdtempSync(join(tmpdir(), 'knetlab-')), 'web.yaml');
  writeFileSync(file, MANIFEST);
  await ok(t, ['up', '--lab', lab, '-f', file, '-c', proxyModeConfig(mode)]);
  return lab;
}

async function service(t: ExecutionContext, lab: string, name: string): Promise<ServiceJson> {
  return JSON.parse((await ok(t, ['get', 'svc', name, '--lab', lab, '-o', 'json'])).stdout) as ServiceJson;
}

async function webPods(t: ExecutionContext, lab: string): Promise<PodJson[]> {
  return (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-'));
}

/** COUNT requests from inside a namespace, each on its own connection; returns the bodies. */
async function curlMany(netns: string, url: string, count: number): Promise<string[]> {
  const urls = Array.from({ length: count }, () => url);
  const r = await execa('ip', ['netns', 'exec', netns, 'curl', '-sS', '--max-time', '3', '-H', 'Connection: close', '-w', '\\n', ...urls], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

function tally(answers: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of answers) m.set(a, (m.get(a) ?? 0) + 1);
  return m;
}

function assertBalanced(t: ExecutionContext, answers: string[], pods: PodJson[], label: string): void {
  t.is(answers.length, 300, `${label}: every request answered`);
  const counts = tally(answers);
  for (const p of pods) {
    const n = counts.get(p.metadata.name) ?? 0;
    t.true(n >= 60 && n <= 140, `${label}: ${p.metadata.name} answered ${n} of 300`);
  }
}

const NODES = ['server', 'agent-1', 'agent-2'];

/** default/kubernetes:https's chain, as kube-proxy names it in each mode. */
const KUBERNETES_CHAIN: Record<ProxyModeName, RegExp> = {
  iptables: /^:KUBE-SVC-NPX46M4PTMTKRN6Y /m,
  nftables: /^\tchain service-2QRHZV4L-default\/kubernetes\/tcp\/https \{/m,
};

async function endpointIPs(t: ExecutionContext, lab: string): Promise<string[]> {
  const ep = JSON.parse((await ok(t, ['get', 'endpoints', 'web', '--lab', lab, '-o', 'json'])).stdout) as { subsets?: { addresses?: { ip: string }[] }[] };
  return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
}

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const UDP_CLIENT = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recvfrom(4096)[0].decode())
`;


const SCALE = (replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: netexec
        image: ${AGNHOST}
        ports: [{name: udp, containerPort: 8081, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{port: 53, targetPort: udp, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: ${AGNHOST}}]
`;

/** Sends "hostname" from one fixed source port every 200 ms for `seconds`, printing each answer or "-". */
const STEADY_UDP_CLIENT = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40000))
s.settimeout(0.2)
# Runs until a second pod has answered three times, or for at most argv[3] seconds.
end = time.time() + float(sys.argv[3])
names = []
while time.time() < end and sum(n != names[0] for n in names) < 3:
    s.sendto(b"hostname", (sys.argv[1], int(sys.argv[2])))
    try:
        names.append(s.recvfrom(4096)[0].decode())
        print(names[-1], flush=True)
        time.sleep(0.2)
    except (socket.timeout, ConnectionRefusedError):
        # Refused: for a moment the Service has no endpoint, and its REJECT rule answers.
        print("-", flush=True)
        time.sleep(0.2)
`;

for (const mode of PROXY_MODES) {
  const natRules = (lab: string, node: string) => proxyRules(lab, node, mode);

  e2e(`a Deployment behind a ClusterIP: every replica answers, from a node and from a pod [${mode}]`, async (t) => {
    const lab = await bringUp(t, 'svc-lb', mode);
    const pods = await webPods(t, lab);
    t.is(pods.length, 3);
    t.is(new Set(pods.map((p) => p.spec.nodeName)).size, 3, 'the scheduler spread the replicas');
    t.regex(pods[0]!.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const { spec } = await service(t, lab, 'web');
    t.regex(spec.clusterIP, /^10\.43\.\d+\.\d+$/);
    assertBalanced(t, await curlMany(`kn.${lab}.node.server`, `http://${spec.clusterIP}/hostname`, 300), pods, 'from the server node');
    assertBalanced(t, await curlMany(`kn.${lab}.pod.default.solo`, `http://${spec.clusterIP}/hostname`, 300), pods, 'from a pod');
    const viaCli = await ok(t, ['curl', '--lab', lab, 'svc/web/hostname', '-n', '30']);
    t.regex(viaCli.stdout, /30\/30 requests/);

    const explained = JSON.parse((await ok(t, ['explain', 'svc/web', '--lab', lab, '--node', 'agent-1', '-o', 'json'])).stdout) as { tree: unknown[] };
    const text = JSON.stringify(explained.tree);
    for (const p of pods) t.true(text.includes(`"dnat":"${p.status.podIP}:8080"`), `explain names the DNAT to ${p.status.podIP}`);
    t.regex(text, /"share":0\.333/);
  });

  e2e(`NodePort on every node from the LAN, with masquerade; pods see pod clients unmasqueraded [${mode}]`, async (t) => {
    const lab = await bringUp(t, 'svc-np', mode);
    const pods = await webPods(t, lab);
    const nodes = JSON.parse((await ok(t, ['get', 'nodes', '--lab', lab, '-o', 'json'])).stdout) as { items: { status: { addresses: { type: string; address: string }[] }; spec: { podCIDR: string } }[] };
    const nodeIPs = nodes.items.map((n) => n.status.addresses.find((a) => a.type === 'InternalIP')!.address);
    // Masquerade takes the address of the interface the packet leaves by: cni0 (.1) to a pod on
    // the same node, flannel.1 (.0, vxlan) or eth0 (the LAN IP, host-gw) towards another node.
    const gateways = nodes.items.flatMap((n) => [n.spec.podCIDR.replace(/0\/\d+$/, '1'), n.spec.podCIDR.replace(/\/\d+$/, '')]);
    for (const ip of nodeIPs) {
      assertBalanced(t, await curlMany(`kn.${lab}.lan`, `http://${ip}:30080/hostname`, 300), pods, `NodePort on ${ip}`);
      for (const answer of await curlMany(`kn.${lab}.lan`, `http://${ip}:30080/clientip`, 10)) {
        const source = answer.split(':')[0]!;
        t.not(source, '192.168.100.1', 'LAN clients are masqueraded');
        t.true([...nodeIPs, ...gateways].includes(source), `the pod sees a node's address (${source})`);
      }
    }
    const { spec } = await service(t, lab, 'web');
    const solo = (await getPods(t, lab)).find((p) => p.metadata.name === 'solo')!;
    for (const answer of await curlMany(`kn.${lab}.pod.default.solo`, `http://${spec.clusterIP}/clientip`, 10)) {
      t.is(answer.split(':')[0], solo.status.podIP, 'a pod client keeps its own IP');
    }
  });

  e2e(`hairpin, session affinity, REJECT without endpoints, UDP and a second named port [${mode}]`, async (t) => {
    const lab = await bringUp(t, 'svc-misc', mode);
    const soloIP = (await service(t, lab, 'solo')).spec.clusterIP;
    t.deepEqual(await curlMany(`kn.${lab}.pod.default.solo`, `http://${soloIP}/hostname`, 3), ['solo', 'solo', 'solo'], 'a pod reaches itself through its own Service');

    const sticky = (await service(t, lab, 'sticky')).spec.clusterIP;
    t.is(tally(await curlMany(`kn.${lab}.pod.default.solo`, `http://${sticky}/hostname`, 30)).size, 1, 'ClientIP affinity pins the client to one pod');

    const empty = (await service(t, lab, 'empty')).spec.clusterIP;
    const started = performance.now();
    const refused = await execa('ip', ['netns', 'exec', `kn.${lab}.pod.default.solo`, 'curl', '-sS', '--max-time', '5', `http://${empty}/`], { reject: false });
    t.is(refused.exitCode, 7, `refused, not timed out: ${refused.stderr}`);
    t.true(performance.now() - started < 1000, 'refused at once');

    const web = await service(t, lab, 'web');
    const pods = (await webPods(t, lab)).map((p) => p.metadata.name);
    const udp = await execa('ip', ['netns', 'exec', `kn.${lab}.pod.default.solo`, 'python3', '-c', UDP_CLIENT, web.spec.clusterIP, '53', 'hostname'], { reject: false });
    t.true(pods.includes(udp.stdout.trim()), `the UDP Service answers with a pod's name: ${udp.stdout} ${udp.stderr}`);
    t.true(pods.includes((await curlMany(`kn.${lab}.pod.default.solo`, `http://${web.spec.clusterIP}:9090/hostname`, 1))[0]!), 'the second port answers too');

    for (const node of NODES) t.regex(await natRules(lab, node), KUBERNETES_CHAIN[mode], `${node} has default/kubernetes's chain`);
  });

  e2e(`a deleted pod is replaced with a new IP and leaves every node's rules at once; readiness moves pods in and out [${mode}]`, async (t) => {
    const lab = await bringUp(t, 'svc-churn', mode);
    const { spec } = await service(t, lab, 'web');
    const [victim] = await webPods(t, lab);
    const oldIP = victim!.status.podIP;
    const deleting = ok(t, ['delete', `pod/${victim!.metadata.name}`, '--lab', lab]); // kubectl's TYPE/NAME form
    const during = await curlMany(`kn.${lab}.pod.default.solo`, `http://${spec.clusterIP}/hostname`, 50);
    await deleting;
    t.true(during.length >= 45, `curls kept succeeding while the pod went (${during.length}/50)`);
    const deadline = Date.now() + 1000;
    let stale: string[] = NODES;
    while (stale.length && Date.now() < deadline) {
      stale = [];
      for (const node of NODES) if ((await natRules(lab, node)).includes(`${oldIP}:`)) stale.push(node);
    }
    t.deepEqual(stale, [], `within 1 s no node's rules mention ${oldIP}`);
    const after = await webPods(t, lab);
    t.is(after.length, 3, 'the Deployment replaced the pod');
    t.false(after.some((p) => p.metadata.name === victim!.metadata.name || p.status.podIP === oldIP), 'new name, new IP');
    t.is((await curlMany(`kn.${lab}.pod.default.solo`, `http://${spec.clusterIP}/hostname`, 30)).length, 30);

    const sick = after[0]!;
    await ok(t, ['exec', '--lab', lab, sick.metadata.name, '--', 'curl', '-s', '-X', 'POST', 'localhost:8080/healthz/fail']);
    t.true(await eventually(async () => !(await endpointIPs(t, lab)).includes(sick.status.podIP)), 'a pod failing readiness leaves the Endpoints');
    t.true(await eventually(async () => !(await natRules(lab, 'server')).includes(`${sick.status.podIP}:`)), '... and the rules');
    t.false(tally(await curlMany(`kn.${lab}.pod.default.solo`, `http://${spec.clusterIP}/hostname`, 30)).has(sick.metadata.name));
    await ok(t, ['exec', '--lab', lab, sick.metadata.name, '--', 'curl', '-s', '-X', 'POST', 'localhost:8080/healthz/pass']);
    t.true(await eventually(async () => (await endpointIPs(t, lab)).includes(sick.status.podIP)), 'restored, it comes back');
  });

  e2e(`re-applying scales a Deployment; a steady UDP client follows its endpoint to the replacement pod [${mode}]`, async (t) => {
    const lab = useLab(t, `svc-udp-${mode.slice(0, 3)}`);
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-'));
    const write = (replicas: number) => {
      writeFileSync(join(dir, 'echo.yaml'), SCALE(replicas));
      return join(dir, 'echo.yaml');
    };
    await ok(t, ['up', '--lab', lab, '-f', write(3), '-c', proxyModeConfig(mode)]);
    const echoPods = async () => (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('echo-'));
    t.is((await echoPods()).length, 3);
    await ok(t, ['apply', '--lab', lab, '-f', write(1)]);
    const [only] = await echoPods();
    t.is((await echoPods()).length, 1, 'scaled down to one');

    const { spec } = await service(t, lab, 'echo');
    const client = execa('ip', ['netns', 'exec', `kn.${lab}.pod.default.client`, 'python3', '-c', STEADY_UDP_CLIENT, spec.clusterIP, '53', '20'], { reject: false });
    await new Promise((r) => setTimeout(r, 1500));
    await ok(t, ['delete', 'pod', only!.metadata.name, '--lab', lab]);
    const answers = (await client).stdout.split('\n').filter(Boolean);
    const [replacement] = await echoPods();
    t.is(answers[0], only!.metadata.name, 'the client first talks to the original pod');
    t.is(answers.at(-1), replacement!.metadata.name, `after the replacement, the same client socket reaches the new pod (answers: ${[...new Set(answers)].join(' ')})`);
  });
}
