// Golden files: a test's expected text lives in test/fixtures/golden/NAME, so a reviewer reads the
// ip batches (or tables) a change produces as a plain diff. `UPDATE_GOLDEN=1 npx ava ...` rewrites
// them; without it a missing file is a failure, never a silent pass.
import type { ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));

export function goldenPath(name: string): string {
  return `${GOLDEN_DIR}${name}`;
}

/** Asserts that `actual` equals the golden file `name`; with UPDATE_GOLDEN=1 writes it instead. */
export function matchesGolden(t: ExecutionContext, name: string, actual: string): boolean {
  const file = goldenPath(name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    t.log(`wrote golden file ${file}`);
    t.pass();
    return true;
  }
  if (!existsSync(file)) {
    t.fail(`golden file ${file} is missing; run the test with UPDATE_GOLDEN=1 to create it, then review it`);
    return false;
  }
  return t.is(actual, readFileSync(file, 'utf8'), `output differs from golden file ${name} (UPDATE_GOLDEN=1 rewrites it)`);
}
