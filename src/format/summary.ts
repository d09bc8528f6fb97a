// What `up` prints when it is done: what was built and how to reach it, so a student's next
// command is on the screen.
import type { ApplyResult } from '../agent/agent.js';
import type { LabStatus } from '../lifecycle/status.js';
import { formatApplyResults } from './apply.js';
import { formatTable } from './table.js';

export function formatUpSummary(status: LabStatus, applied: ApplyResult[], seconds: number): string {
  const c = status.config;
  const labFlag = status.lab === 'knetlab' ? '' : ` --lab ${status.lab}`;
  const lines = [`Lab "${status.lab}" is up in ${seconds.toFixed(2)} s (agent pid ${status.pid}).`, ''];
  lines.push(
    formatTable(
      ['NODE', 'ROLE', 'LAN IP', 'POD CIDR', 'PODS'],
      status.nodes.map((n) => [n.name, n.role, n.ip, n.podCIDR, String(n.pods)]),
    ),
  );
  if (c) {
    lines.push('', `cluster-cidr ${c.clusterCIDR} · service-cidr ${c.serviceCIDR} · cluster-dns ${c.clusterDNS} · flannel ${c.flannelBackend} · LAN ${c.lanCIDR} (lan machine ${status.lan?.ip})`);
  }
  const { out, errors } = formatApplyResults(applied, { placement: true });
  if (out.length || errors.length) lines.push('', ...out, ...errors);
  if (status.problems.length) lines.push('', 'Not healthy:', ...status.problems.map((p) => `  ${p}`));
  lines.push('', 'Next:', `  knetlab get pods -o wide${labFlag}`);
  const service = applied.find((r) => r.kind === 'Service' && !r.error);
  if (service) {
    const ns = service.namespace && service.namespace !== 'default' ? ` --namespace ${service.namespace}` : '';
    lines.push(`  knetlab curl${labFlag}${ns} svc/${service.name} -n 30`, `  knetlab explain${labFlag}${ns.replace('--namespace', '-n')} svc/${service.name}`);
  }
  const pods = applied.filter((r) => r.kind === 'Pod' && !r.error);
  if (pods.length >= 2) lines.push(`  knetlab curl${labFlag} --from pod/${pods[0]!.name} pod/${pods[1]!.name}/hostname`);
  lines.push(`  knetlab exec${labFlag} node/${status.nodes[0]?.name ?? 'server'} -- ip route`, `  knetlab down${labFlag}`);
  return lines.join('\n');
}
