// Checked before `up` changes anything: host access is refused, with the reason, when the host
// already routes one of the lab's ranges or another lab holds it.
import type { LabConfig } from '../config/types.js';
import { hostAccessConflicts } from '../dataplane/host-access.js';
import { KnetlabError } from '../errors.js';
import { readHostNetwork } from '../kernel/host.js';

export async function checkHostAccess(lab: string, config: LabConfig): Promise<void> {
  const conflicts = hostAccessConflicts(lab, config, await readHostNetwork());
  if (conflicts.length) {
    throw new KnetlabError(`host access refused; nothing was changed:\n${conflicts.map((c) => `  ${c}`).join('\n')}`, {
      hint: 'set host-access: false, or move the lab to ranges the host does not use (cluster-cidr, service-cidr, lan-cidr)',
    });
  }
}
