// `knetlab conntrack`'s output: a table with the original tuple and the reply tuple side by side
// and, in words, what the kernel did (DNAT to which pod, masquerade as which address), the
// context built from the lab's objects, and the `-o json` document. Pure.
import type { LabStatus } from '../lifecycle/status.js';
import type { Pod, Service } from '../api/types.js';
import { formatTable } from '../format/table.js';
import { describeNat, type AnnotatedEntry, type ConntrackContext, type Selection } from './annotate.js';
import { tupleText } from './parse.js';

/** The part of the lab's status and objects the annotations need. */
export function contextFromLab(status: Pick<LabStatus, 'config' | 'lan' | 'nodes'>, pods: Pod[], services: Service[]): ConntrackContext {
  return {
    clusterCIDR: status.config?.clusterCIDR,
    serviceCIDR: status.config?.serviceCIDR,
    lanCIDR: status.lan?.cidr ?? status.config?.lanCIDR,
    lanIP: status.lan?.ip,
    nodes: status.nodes.map((n) => ({ name: n.name, ip: n.ip, podCIDR: n.podCIDR })),
    pods,
    services,
  };
}

function stateText(e: AnnotatedEntry): string {
  return [e.state ?? '-', ...e.flags.map((f) => `[${f}]`)].join(' ');
}

function originalText(e: AnnotatedEntry): string {
  const svc = e.service ? ` (svc ${e.service.namespace === 'default' ? '' : `${e.service.namespace}/`}${e.service.name}${e.service.via === 'NodePort' ? ' NodePort' : ''})` : '';
  return tupleText(e.original) + svc;
}

export function formatConntrackTable(entries: AnnotatedEntry[]): string {
  return formatTable(
    ['PROTO', 'STATE', 'TIMEOUT', 'ORIGINAL (SRC -> DST)', 'REPLY (SRC -> DST)', 'WHAT THE KERNEL DID'],
    entries.map((e) => [e.protocol, stateText(e), `${e.timeout}s`, originalText(e), tupleText(e.reply), describeNat(e)]),
  );
}

export interface ConntrackReport {
  lab: string;
  node: string;
  netns: string;
  service?: string;
  entries: AnnotatedEntry[];
  hidden: number;
  problems: { line: number; text: string; message: string }[];
}

/** The lines printed under the table (or alone, when nothing matched). */
export function formatSummary(r: ConntrackReport): string[] {
  const translated = r.entries.filter((e) => e.dnat || e.snat).length;
  const what = r.service ? `for svc ${r.service}` : 'of lab traffic';
  const lines: string[] = [];
  if (r.entries.length === 0) {
    lines.push(`No conntrack entries ${what} on node ${r.node}.`);
    if (r.service) {
      const [namespace, name] = r.service.split('/') as [string, string];
      const curl = `knetlab curl${namespace === 'default' ? '' : ` --namespace ${namespace}`} svc/${name}`;
      lines.push(`Send some traffic first (${curl}), then look again: entries expire (TIME_WAIT after 120 s).`);
    }
  } else lines.push(`${r.entries.length} entr${r.entries.length === 1 ? 'y' : 'ies'} ${what} on node ${r.node}, ${translated} translated by the kernel (NAT).`);
  if (r.hidden) lines.push(`${r.hidden} other entr${r.hidden === 1 ? 'y' : 'ies'} hidden (${r.service ? 'other traffic' : 'not lab traffic'}).`);
  for (const p of r.problems) lines.push(`warning: could not read line ${p.line} of conntrack's output (${p.message}): ${p.text}`);
  return lines;
}

export function buildReport(base: Omit<ConntrackReport, 'entries' | 'hidden'>, selection: Selection): ConntrackReport {
  return { ...base, entries: selection.entries, hidden: selection.hidden };
}
