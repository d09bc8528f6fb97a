// What every knetlab command shares: the `--lab` flag, the root check, and the one top-level
// error handler that turns a KnetlabError into its message, its hint and the exit code CLI.md
// promises (1 failed, 2 invalid input or usage).
import { Command, Flags, Errors } from '@oclif/core';
import { KnetlabError, NeedsRootError } from '../errors.js';
import { resolveLabName } from '../lifecycle/lab-name.js';

export const labFlag = Flags.string({ description: 'which lab [env: KNETLAB_LAB, default: knetlab]', helpValue: 'NAME' });

export abstract class KnetlabCommand extends Command {
  protected lab(flag: string | undefined): string {
    return resolveLabName(flag);
  }

  protected requireRoot(what: string): void {
    if (process.getuid?.() !== 0) throw new NeedsRootError(what);
  }

  protected printJson(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof KnetlabError) {
      process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
      process.exitCode = err.exitCode;
      return;
    }
    // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 2.
    if (err instanceof Errors.CLIError && !(err instanceof Errors.ExitError)) {
      process.stderr.write(`error: ${err.message}\nhint: see \`knetlab ${this.id?.replace(/:/g, ' ') ?? ''} --help\`\n`);
      process.exitCode = 2;
      return;
    }
    return super.catch(err);
  }
}
