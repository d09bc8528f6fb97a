// Bad input through the real CLI: every invalid config and manifest of the corpus makes `up`
// exit 2 with file:line:col and a fix, and leaves the machine exactly as it was.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { e2e, knetlab, uniqueLab, leftovers, labNamespaces, ROOT } from '../helpers/lab.js';

const CONFIGS = join(ROOT, 'test/fixtures/config/invalid');
const MANIFESTS = join(ROOT, 'test/fixtures/manifests/invalid');

function yamlFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f)) : [];
}

/** Runs up to `limit` of the async jobs at once. */
async function inBatches<T>(items: T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(job));
}

for (const [what, files, flag] of [
  ['config', yamlFiles(CONFIGS), '-c'],
  ['manifest', yamlFiles(MANIFESTS), '-f'],
] as const) {
  e2e(`every invalid ${what} in the corpus exits 2 with line:col and a fix, and changes nothing`, async (t) => {
    t.true(files.length >= 15, `the corpus holds ${files.length} invalid ${what}s`);
    const lab = uniqueLab(`bad-${what}`);
    await inBatches(files, 4, async (file) => {
      const r = await knetlab(['up', '--lab', lab, flag, file]);
      const name = file.split('/').pop();
      t.is(r.exitCode, 2, `${name}: exit code\n${r.stderr}`);
      t.regex(r.stderr, /\.yaml:\d+:\d+ /, `${name}: names line and column`);
      t.regex(r.stderr, / — /, `${name}: says how to fix it`);
      t.is(r.stdout, '', `${name}: prints nothing on stdout`);
    });
    // Other test files build labs at the same time, so "unchanged" is judged for this test's lab.
    t.deepEqual(labNamespaces(lab), [], 'no namespace was created');
    t.deepEqual(leftovers(lab), [], 'no state directory or agent was created');
  });
}

e2e('a missing config file is a usage error naming it', async (t) => {
  const r = await knetlab(['up', '--lab', uniqueLab('missing'), '-c', '/nonexistent/config.yaml']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /\/nonexistent\/config\.yaml/);
});

e2e('an invalid lab name is a usage error', async (t) => {
  const r = await knetlab(['up', '--lab', 'Bad.Name']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /invalid lab name "Bad\.Name"/);
});
