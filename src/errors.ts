// One small error hierarchy for the whole tool. The CLI's single top-level handler turns any of
// these into a message on stderr and the exit code that CLI.md promises: 1 for an operation that
// failed, 2 for invalid input or usage (in which case nothing on the machine was changed).
import type { Diagnostic } from './diagnostics.js';
import { formatDiagnostic } from './diagnostics.js';

export class KnetlabError extends Error {
  readonly exitCode: number = 1;
  /** What the user can do about it, printed under the message. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** The user asked for something that cannot be done as asked (bad flag values, unknown names). */
export class UsageError extends KnetlabError {
  override readonly exitCode = 2;
}

/** A file the user wrote is invalid; carries every problem found, not just the first. */
export class InvalidInputError extends KnetlabError {
  override readonly exitCode = 2;

  constructor(readonly diagnostics: Diagnostic[]) {
    const n = diagnostics.length;
    super(`${n} problem${n === 1 ? '' : 's'} found; nothing was changed:\n` + diagnostics.map((d) => '  ' + formatDiagnostic(d)).join('\n'));
  }
}

/** The command changes the kernel and was run without root. */
export class NeedsRootError extends KnetlabError {
  constructor(what: string) {
    super(`${what} changes the kernel's network state and needs root.`, { hint: 'Run it again with sudo.' });
  }
}

/** The lab's agent is not running (never started, or it died). */
export class AgentDownError extends KnetlabError {
  constructor(lab: string) {
    super(`agent not running for lab "${lab}"`, { hint: 'run `knetlab up` to start or recover it' });
  }
}
