import { Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { loadManifests } from '../src/manifests/load.js';
import { formatDiagnostic } from '../src/diagnostics.js';
import { applyObjects } from '../src/lifecycle/up.js';
import { formatApplyResults } from '../src/format/apply.js';

export default class Apply extends KnetlabCommand {
  static override summary = 'Create or update objects from manifests (v1 Pod, Service, Namespace; apps/v1 Deployment)';
  static override description = 'Every file is validated before anything is applied. Kinds the lab does not handle are skipped with a warning.';
  static override examples = ['<%= config.bin %> apply -f examples/hello.yaml', '<%= config.bin %> apply -f manifests/', 'cat pod.yaml | <%= config.bin %> apply -f -'];
  static override flags = {
    lab: labFlag,
    filename: Flags.string({ char: 'f', summary: 'manifest file or directory ("-" for stdin)', multiple: true, required: true, helpValue: 'FILE|DIR|-' }),
    json: Flags.boolean({ summary: 'print the results as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Apply);
    const lab = this.lab(flags.lab);
    const { objects, warnings } = await loadManifests(flags.filename);
    for (const w of warnings) process.stderr.write(formatDiagnostic(w) + '\n');
    const results = await applyObjects(lab, objects);
    if (flags.json) this.printJson(results);
    else {
      const { out, errors } = formatApplyResults(results);
      for (const line of out) this.log(line);
      for (const line of errors) process.stderr.write(line + '\n');
    }
    if (results.some((r) => r.error)) process.exitCode = 1;
  }
}
