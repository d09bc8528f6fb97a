// Which lab a command works on: `--lab NAME`, else $KNETLAB_LAB, else `knetlab`. Lab names end up
// in namespace names (`kn.LAB.node.server`), so they are DNS-1123 labels without dots.
import { UsageError } from '../errors.js';

export const DEFAULT_LAB = 'knetlab';
const LAB_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export function resolveLabName(flag: string | undefined): string {
  const lab = flag ?? process.env.KNETLAB_LAB ?? DEFAULT_LAB;
  if (!LAB_NAME.test(lab)) {
    throw new UsageError(`invalid lab name "${lab}"`, { hint: 'use lower-case letters, digits and "-", at most 32 characters, e.g. --lab lab-1' });
  }
  return lab;
}
