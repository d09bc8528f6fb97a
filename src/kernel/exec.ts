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

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const result = await execa(file, args, { input: options.input, reject: false, stripFinalNewline: true });
  if (result.failed && result.exitCode === undefined) {
    throw new KnetlabError(`could not run ${file}: ${result.shortMessage}`, { hint: `is ${file} installed? \`knetlab doctor\` checks` });
  }
  const out = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
  if (out.exitCode !== 0 && !options.allowFailure) {
    throw new KnetlabError(`${argv.join(' ')} failed (exit ${out.exitCode}): ${out.stderr || out.stdout}`);
  }
  return out;
}
