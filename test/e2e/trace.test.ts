// `knetlab trace` end to end, on a 3-node lab with a 3-replica Deployment behind a NodePort
// Service, a Service without endpoints and a client pod: the kernel's trace shows kube-proxy's
// chains in order and the endpoint they chose; thirty traces meet every replica; the REJECT of
// a Service without endpoints; a NodePort from the LAN through KUBE-NODEPORTS and the
// masquerade; and no TRACE rule or monitor left on any node, also after the CLI is SIGKILLed.
// The same lab with kube-proxy in nftables mode: the trace names `table ip kube-proxy`'s service
// chain, endpoint chain and `dnat to`, reject-chain for the Service without endpoints, and the
// masquerading chain for a NodePort from the LAN.
import { execa } from 'execa';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { CLI, e2e, getPods, ok, proxyModeConfig, tempFile, useLab, type ProxyModeName } from '../helpers/lab.js';
import { AGNHOST, EMPTY_SERVICE, webDeployment, webNodePortService } from '../helpers/manifests.js';
import type { TraceResult } from '../../src/trace/report.js';

const MANIFEST = `
${webDeployment({ ports: ['{name: http, containerPort: 8080}', '{name: udp, containerPort: 8081, protocol: UDP}'] })}---
${webNodePortService(['{name: http, port: 80, targetPort: http, nodePort: 30080}', '{name: udp, port: 8081, targetPort: udp, protocol: UDP}'])}---
${EMPTY_SERVICE}---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  containers:
  - {name: netexec, image: ${AGNHOST}, ports: [{containerPort: 8080}]}
`;

const NODES = ['server', 'agent-1', 'agent-2'];

async function bringUp(t: ExecutionContext, purpose: string, mode: ProxyModeName = 'iptables'): Promise<string> {
  const lab = useLab(t, purpose);
  await ok(t, ['up', '--lab', lab, '-c', proxyModeConfig(mode), '-f', tempFile('trace.yaml', MANIFEST)]);
  return lab;
}

async function trace(t: ExecutionContext, lab: string, from: string, to: string, ...extra: string[]): Promise<TraceResult> {
  const r = await ok(t, ['trace', '--lab', lab, '--from', from, '--to', to, '-o', 'json', ...extra]);
  return JSON.parse(r.stdout) as TraceResult;
}

/** TRACE rules on the lab's nodes, and `nft monitor` processes in their namespaces. */
async function leftovers(lab: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of NODES) {
    const r = await execa('ip', ['netns', 'exec', `kn.${lab}.node.${node}`, 'iptables', '-t', 'mangle', '-S']);
    const rules = r.stdout.split('\n').filter((l) => /-j TRACE\b/.test(l));
    if (rules.length) found.push(`${node}: ${rules.join(' | ')}`);
  }
  const inodes = new Set(NODES.map((n) => statSync(`/run/netns/kn.${lab}.node.${n}`).ino));
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('nft') && argv.includes('monitor') && inodes.has(statSync(`/proc/${pid}/ns/net`).ino)) found.push(`nft monitor pid ${pid}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Indexes of the first chain matching each pattern, each after the previous one (-1: missing). */
function positions(chains: string[], patterns: RegExp[]): number[] {
  let from = 0;
  return patterns.map((re) => {
    const i = chains.findIndex((c, j) => j >= from && re.test(c));
    if (i !== -1) from = i + 1;
    return i;
  });
}

e2e('trace from a pod to a 3-replica Service: the chains in order, the DNAT, the endpoint named; 30 traces meet every replica', async (t) => {
  const lab = await bringUp(t, 'trace-svc');
  const replicas = (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-'));
  t.is(replicas.length, 3);

  const first = await trace(t, lab, 'pod/client', 'svc/web');
  const at = positions(first.chains, [/^nat\/KUBE-SERVICES$/, /^nat\/KUBE-SVC-/, /^nat\/KUBE-SEP-/]);
  t.false(at.includes(-1), `KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-* in order: ${first.chains.join(' ')}`);
  const dnatHop = first.packets[0]!.hooks.flatMap((h) => h.hops).find((h) => h.nat?.kind === 'dnat');
  t.truthy(dnatHop, 'the first packet shows the DNAT');
  t.regex(dnatHop!.chain, /^KUBE-SEP-/);
  const chosen = replicas.find((p) => p.status.podIP === first.endpoint?.ip);
  t.truthy(chosen, `the DNAT goes to a replica: ${JSON.stringify(first.endpoint)}`);
  t.like(first.endpoint, { port: 8080, pod: chosen!.metadata.name, chain: dnatHop!.chain });
  t.is(dnatHop!.nat!.to, `${chosen!.status.podIP}:8080`);
  t.is(first.request.answer, chosen!.metadata.name, 'the pod the rules chose answered');
  t.false(first.rejected);
  t.false(first.masqueraded, 'a pod client is not masqueraded');
  t.truthy(first.reply, 'the reply is un-NATed by conntrack');
  t.deepEqual(await leftovers(lab), [], 'nothing left after the trace');

  // 29 more, three at a time: each trace's rules and report follow only its own connection.
  const named = new Set<string>([first.endpoint!.pod!]);
  for (let round = 0; round < 29; round += 3) {
    const batch = await Promise.all(Array.from({ length: Math.min(3, 29 - round) }, () => trace(t, lab, 'pod/client', 'svc/web')));
    for (const r of batch) {
      t.is(r.endpoint?.pod, r.request.answer, 'the endpoint named is the pod that answered');
      if (r.endpoint?.pod) named.add(r.endpoint.pod);
    }
  }
  t.deepEqual([...named].sort(), replicas.map((p) => p.metadata.name).sort(), '30 traces named every replica');
  t.deepEqual(await leftovers(lab), [], 'nothing left after 30 traces');
});

e2e('trace shows the filter REJECT of a Service without endpoints, and a NodePort from the LAN through KUBE-NODEPORTS and the masquerade', async (t) => {
  const lab = await bringUp(t, 'trace-np');
  const empty = await trace(t, lab, 'pod/client', 'svc/empty');
  t.true(empty.rejected);
  t.like(empty.rejectedBy, { table: 'filter', chain: 'KUBE-SERVICES', comment: 'default/empty has no endpoints' });
  t.false(empty.request.ok);
  t.is(empty.endpoint, undefined);
  t.deepEqual(await leftovers(lab), []);

  const nodePort = await trace(t, lab, 'lan', '192.168.100.10:30080');
  const at = positions(nodePort.chains, [/^nat\/KUBE-NODEPORTS$/, /^nat\/KUBE-EXT-/, /^nat\/KUBE-MARK-MASQ$/, /^nat\/KUBE-SEP-/, /^nat\/KUBE-POSTROUTING$/]);
  t.false(at.includes(-1), `KUBE-NODEPORTS ... KUBE-POSTROUTING in order: ${nodePort.chains.join(' ')}`);
  t.true(nodePort.masqueraded);
  t.true(nodePort.packets.some((p) => p.nat.some((n) => n.kind === 'masquerade')), 'the MASQUERADE rule is in the trace');
  t.is(nodePort.request.service, 'default/web:http');
  t.is(nodePort.endpoint?.pod, nodePort.request.answer);
  t.deepEqual(await leftovers(lab), []);

  // svc/NAME from the LAN goes to the NodePort; UDP through the ClusterIP; the human output.
  const viaName = await trace(t, lab, 'lan', 'svc/web');
  t.is(viaName.request.destination, '192.168.100.10:30080');
  const udp = await trace(t, lab, 'pod/client', 'svc/web:udp');
  t.like(udp.request, { protocol: 'udp', ok: true });
  t.is(udp.endpoint?.pod, udp.request.answer);
  const text = (await ok(t, ['trace', '--lab', lab, '--from', 'pod/client', '--to', 'svc/web'])).stdout;
  t.regex(text, /nat KUBE-SERVICES\s+-> KUBE-SVC-\w+\s+"default\/web:http cluster IP"/);
  t.regex(text, /^Endpoint chosen: 10\.42\.\d+\.\d+:8080, pod web-/m);
  t.deepEqual(await leftovers(lab), []);
});

e2e('a trace CLI killed with SIGKILL mid-way leaves no TRACE rule and no monitor behind', async (t) => {
  // The trace runs in a detached helper (src/trace/request.ts) that finishes its cleanup without
  // the CLI; once the agent serves POST /apis/knetlab.io/v1/trace, the agent does the same.
  const lab = await bringUp(t, 'trace-kill');
  for (const target of ['svc/web', '192.168.100.11:30080']) {
    const from = target === 'svc/web' ? 'pod/client' : 'lan';
    const cli = execa(process.execPath, [CLI, 'trace', '--lab', lab, '--from', from, '--to', target], { reject: false });
    const deadline = Date.now() + 10_000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      seen = (await leftovers(lab)).some((l) => l.includes('knetlab trace'));
      if (!seen) await new Promise((r) => setTimeout(r, 10));
    }
    t.true(seen, 'the TRACE rules were in place when the CLI was killed');
    cli.kill('SIGKILL');
    await cli;
    await new Promise((r) => setTimeout(r, 4000));
    t.deepEqual(await leftovers(lab), [], `nothing left 4 s after SIGKILL (trace to ${target})`);
  }
});

e2e('nftables mode: the trace names the service chain, the endpoint chain and its dnat; reject-chain without endpoints; the masquerade of a NodePort', async (t) => {
  const lab = await bringUp(t, 'trace-nft', 'nftables');
  const replicas = (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-'));
  t.is(replicas.length, 3);

  const first = await trace(t, lab, 'pod/client', 'svc/web');
  const at = positions(first.chains, [/^kube-proxy\/nat-prerouting$/, /^kube-proxy\/services$/, /^kube-proxy\/service-[A-Z2-7]{8}-default\/web\/tcp\/http$/, /^kube-proxy\/endpoint-[A-Z2-7]{8}-default\/web\/tcp\/http__/]);
  t.false(at.includes(-1), `nat-prerouting, services, service-*, endpoint-* in order: ${first.chains.join(' ')}`);
  t.false(first.chains.some((c) => /KUBE-/.test(c)), 'no iptables kube-proxy chain in nftables mode');
  const dnatHop = first.packets[0]!.hooks.flatMap((h) => h.hops).find((h) => h.nat?.kind === 'dnat');
  const chosen = replicas.find((p) => p.status.podIP === first.endpoint?.ip);
  t.truthy(chosen, `the DNAT goes to a replica: ${JSON.stringify(first.endpoint)}`);
  t.is(dnatHop?.chain, `${first.endpoint!.chain}`);
  t.regex(dnatHop!.chain, new RegExp(`^endpoint-[A-Z2-7]{8}-default/web/tcp/http__${chosen!.status.podIP.replaceAll('.', '\\.')}/8080$`), 'the endpoint chain names the endpoint');
  t.is(dnatHop!.rule, `meta l4proto tcp dnat to ${chosen!.status.podIP}:8080`);
  t.like(first.endpoint, { port: 8080, pod: chosen!.metadata.name, comment: `default/web:http -> ${chosen!.status.podIP}:8080` });
  t.is(first.request.answer, chosen!.metadata.name, 'the pod the rules chose answered');
  t.false(first.masqueraded);
  t.deepEqual(await leftovers(lab), [], 'nothing left after the trace');

  const empty = await trace(t, lab, 'pod/client', 'svc/empty');
  t.true(empty.rejected);
  t.like(empty.rejectedBy, { table: 'kube-proxy', chain: 'reject-chain', comment: '@no-endpoint-services: the Service port has no endpoints' });
  t.true(empty.chains.includes('kube-proxy/service-endpoints-check'));
  t.false(empty.request.ok);

  const nodePort = await trace(t, lab, 'lan', '192.168.100.10:30080');
  const np = positions(nodePort.chains, [/^kube-proxy\/services$/, /^kube-proxy\/external-\S+\/web\/tcp\/http$/, /^kube-proxy\/mark-for-masquerade$/, /^kube-proxy\/endpoint-/, /^kube-proxy\/masquerading$/]);
  t.false(np.includes(-1), `services ... masquerading in order: ${nodePort.chains.join(' ')}`);
  t.like(nodePort.masquerade, { node: 'server', chain: 'masquerading' });
  t.is(nodePort.endpoint?.pod, nodePort.request.answer);

  const text = (await ok(t, ['trace', '--lab', lab, '--from', 'pod/client', '--to', 'svc/web'])).stdout;
  t.regex(text, /kube-proxy services\s+-> service-\w+-default\/web\/tcp\/http\s+"default\/web:http"/);
  t.regex(text, /kube-proxy endpoint-\S+ DNAT to 10\.42\.\d+\.\d+:8080 \(pod web-/);
  t.regex(text, /^Endpoint chosen: 10\.42\.\d+\.\d+:8080, pod web-\S+ on \S+ \(endpoint-/m);
  t.deepEqual(await leftovers(lab), []);
});
