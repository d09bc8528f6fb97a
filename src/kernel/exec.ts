// The one seam through which knetlab runs programs that touch the kernel (ip, iptables, ...).
// Argv arrays only, never shell strings. Tests and planners never come here: they work on the
// batches that the pure renderers produce.
import { execa } from 'execa';
import { KnetlabError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Text written to the program's stdin. */
  input?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

/**
 * PATH without npm's node_modules/.bin folders, for the programs knetlab runs and the commands a
 * user runs in the lab: under `npx` or `npm test` PATH starts with them, and there @vercel/nft (a
 * dependency of oclif) installs an unrelated `nft` that exits 0 doing nothing.
 */
export function systemPath(path = process.env.PATH ?? ''): string {
  return path
    .split(':')
    .filter((dir) => dir !== '' && !/(^|\/)node_modules\/\.bin\/?$/.test(dir))
    .join(':');
}

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const result = await execa(file, args, { input: options.input, reject: false, stripFinalNewline: true, env: { PATH: systemPath() } });
  if (result.failed && result.exitCode === undefined) {
    throw new KnetlabError(`could not run ${file}: ${result.shortMessage}`, { hint: `is ${file} installed? \`knetlab doctor\` checks` });
  }
  const out = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
  if (out.exitCode !== 0 && !options.allowFailure) {
    throw new KnetlabError(`${argv.join(' ')} failed (exit ${out.exitCode}): ${out.stderr || out.stdout}`);
  }
  return out;
}
