// One `up` or `down` at a time per lab: an exclusive lock file holding the holder's pid. A lock
// whose holder is gone is stale and taken over; a live holder makes the second command wait.
import { openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { KnetlabError } from '../errors.js';

export async function withLock<T>(path: string, what: string, work: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!holderAlive(path)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new KnetlabError(`another knetlab command is still working on ${what}`, { hint: `wait for it, or remove ${path} if no knetlab command runs` });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}

function holderAlive(path: string): boolean {
  try {
    process.kill(Number(readFileSync(path, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}
