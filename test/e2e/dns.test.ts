// Cluster DNS end to end: names resolve from pods through the standard resolver (resolv.conf as
// kubelet writes it, search path, ndots:5), via kube-proxy's rules to the DNS pod, over UDP and
// TCP; records follow the objects; another cluster-domain and cluster-dns are followed too.
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { PROXY_MODES, e2e, ok, useLab, getPods, proxyModeConfig, proxyRules, tempFile, type ProxyModeName } from '../helpers/lab.js';
import { AGNHOST, webDeployment } from '../helpers/manifests.js';

const MANIFEST = `
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
${webDeployment({ replicas: 2, readiness: true })}---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: ${AGNHOST}}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other}
spec:
  containers: [{name: c, image: ${AGNHOST}}]
`;


async function execIn(lab: string, pod: string, namespace: string, argv: string[]) {
  return execa('ip', ['netns', 'exec', `kn.${lab}.pod.${namespace}.${pod}`, ...argv], { reject: false });
}

async function clusterIP(t: ExecutionContext, lab: string, name: string, namespace = 'default'): Promise<string> {
  return (JSON.parse((await ok(t, ['get', 'svc', name, '-n', namespace, '--lab', lab, '-o', 'json'])).stdout) as { spec: { clusterIP: string } }).spec.clusterIP;
}

async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** kube-dns's chains (dns/udp, dns-tcp), as kube-proxy names them in each mode. */
const KUBE_DNS_CHAINS: Record<ProxyModeName, RegExp[]> = {
  iptables: [/:KUBE-SVC-TCOU7JCQXEZGVUNU /, /:KUBE-SVC-ERIFXISQEP7F7OF4 /],
  nftables: [/chain service-FY5PMXPG-kube-system\/kube-dns\/udp\/dns \{/, /chain service-NWBZK7IH-kube-system\/kube-dns\/tcp\/dns-tcp \{/],
};

for (const mode of PROXY_MODES) {
  for (const [title, domain, dns, config] of [
    ['k3s defaults', 'cluster.local', '10.43.0.10', ''],
    ['cluster-domain lab.internal and cluster-dns 10.96.0.53', 'lab.internal', '10.96.0.53', 'service-cidr: 10.96.0.0/16\ncluster-dns: 10.96.0.53\ncluster-domain: lab.internal\n'],
  ] as const) {
    e2e(`cluster DNS with ${title} [${mode}]`, async (t) => {
      const lab = useLab(t, `${domain === 'cluster.local' ? 'dns' : 'dns-custom'}-${mode.slice(0, 3)}`);
      await ok(t, ['up', '--lab', lab, '-f', tempFile('dns.yaml', MANIFEST), '-c', proxyModeConfig(mode, config)]);
      const web = await clusterIP(t, lab, 'web');
      t.is(await clusterIP(t, lab, 'kube-dns', 'kube-system'), dns);

      const resolv = await ok(t, ['exec', '--lab', lab, 'client', '--', 'cat', '/etc/resolv.conf']);
      t.is(resolv.stdout, `search default.svc.${domain} svc.${domain} ${domain}\nnameserver ${dns}\noptions ndots:5`);

      for (const name of ['web', 'web.default', `web.default.svc.${domain}`]) {
        const r = await execIn(lab, 'client', 'default', ['curl', '-sS', '--max-time', '5', `http://${name}/hostname`]);
        t.regex(r.stdout, /^web-/, `curl http://${name}/hostname: ${r.stderr}`);
      }
      const dig = (...q: string[]) => execIn(lab, 'client', 'default', ['dig', '+time=2', '+tries=1', ...q]);
      t.is((await dig('+short', `web.default.svc.${domain}`)).stdout, web);
      t.is((await dig('+short', '+tcp', `web.default.svc.${domain}`)).stdout, web, 'dig +tcp');
      t.regex((await dig('+short', 'SRV', `_http._tcp.web.default.svc.${domain}`)).stdout, new RegExp(`^\\d+ \\d+ 80 web\\.default\\.svc\\.${domain.replace('.', '\\.')}\\.$`));
      t.regex((await dig(`nosuch.default.svc.${domain}`)).stdout, /status: NXDOMAIN/);
      t.regex((await dig('kubernetes.default.svc.' + domain)).stdout, /status: NOERROR/);
      t.regex((await execIn(lab, 'client', 'default', ['nslookup', `web.default.svc.${domain}`])).stdout, new RegExp(`Address: ${web.replace(/\./g, '\\.')}`));

      // From another namespace the short name belongs to that namespace (where there is no web).
      const other = await execIn(lab, 'client', 'other', ['curl', '-sS', '--max-time', '5', 'http://web/hostname']);
      t.not(other.exitCode, 0, 'the short name does not resolve from another namespace');
      t.regex((await execIn(lab, 'client', 'other', ['curl', '-sS', '--max-time', '5', 'http://web.default/hostname'])).stdout, /^web-/);

      // A headless Service's name is its ready pods' addresses, and follows readiness within a second.
      const pods = (await getPods(t, lab)).filter((p) => p.metadata.name.startsWith('web-'));
      const headless = async () => (await dig('+short', `web-headless.default.svc.${domain}`)).stdout.split('\n').filter(Boolean).sort();
      t.deepEqual(await headless(), pods.map((p) => p.status.podIP).sort());
      const sick = pods[0]!;
      await ok(t, ['exec', '--lab', lab, sick.metadata.name, '--', 'curl', '-s', '-X', 'POST', 'localhost:8080/healthz/fail']);
      t.true(await eventually(async () => !(await headless()).includes(sick.status.podIP), 2500), 'a pod failing readiness leaves the headless name');

      for (const node of ['server', 'agent-1', 'agent-2']) {
        const rules = await proxyRules(lab, node, mode);
        for (const chain of KUBE_DNS_CHAINS[mode]) t.regex(rules, chain, `${node}: kube-dns's chain`);
      }
    });
  }
}
