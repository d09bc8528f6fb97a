// kubectl's one line per applied object: `pod/web created`, `namespace/lab unchanged`.
import type { ApplyResult } from '../agent/agent.js';

export function formatApplyResults(results: ApplyResult[]): { out: string[]; errors: string[] } {
  const out: string[] = [];
  const errors: string[] = [];
  for (const r of results) {
    const ref = `${r.kind.toLowerCase()}/${r.name}`;
    if (r.error) errors.push(`error: ${ref}${r.namespace && r.namespace !== 'default' ? ` (namespace ${r.namespace})` : ''}: ${r.error}`);
    else out.push(`${ref} ${r.action}`);
  }
  return { out, errors };
}
