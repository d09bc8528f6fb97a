// kubectl's one line per applied object: `pod/web created`, `namespace/lab unchanged`.
import type { ApplyResult } from '../agent/agent.js';

/** With `placement`, pods also say where they run: `pod/web created   10.42.1.2 on agent-1`. */
export function formatApplyResults(results: ApplyResult[], options: { placement?: boolean } = {}): { out: string[]; errors: string[] } {
  const out: string[] = [];
  const errors: string[] = [];
  for (const r of results) {
    const ref = `${r.kind.toLowerCase()}/${r.name}`;
    if (r.error) errors.push(`error: ${ref}${r.namespace && r.namespace !== 'default' ? ` (namespace ${r.namespace})` : ''}: ${r.error}`);
    else if (options.placement && r.kind === 'Pod') out.push(`${`${ref} ${r.action}`.padEnd(28)} ${r.podIP ? `${r.podIP} on ${r.nodeName}` : (r.phase ?? 'Pending')}`);
    else out.push(`${ref} ${r.action}`);
  }
  return { out, errors };
}
