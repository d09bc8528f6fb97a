import { Flags } from '@oclif/core';
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { loadConfig } from '../src/config/load.js';
import { loadManifests } from '../src/manifests/load.js';
import { KnetlabError } from '../src/errors.js';
import { formatDiagnostic } from '../src/diagnostics.js';
import { failedChecks, runChecks } from '../src/lifecycle/doctor.js';
import { applyObjects, ensureLab, labStatus, withLabLock, type EnsureResult } from '../src/lifecycle/up.js';
import { formatUpSummary } from '../src/format/summary.js';
import type { ApplyResult } from '../src/agent/agent.js';
import type { LabStatus } from '../src/lifecycle/status.js';
import { checkHostAccess } from '../src/lifecycle/host-access.js';

export default class Up extends KnetlabCommand {
  static override summary = 'Build the lab from a k3s config and apply manifests';
  static override description =
    'Validates the config and manifests first (nothing changes if they are invalid), starts the lab\'s agent, builds the LAN, nodes and pods, and prints what was built. Running it again converges the running lab to the config.';
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up -c config.yaml -f examples/hello.yaml',
    '<%= config.bin %> up --lab lab-2 -c lab2.yaml',
  ];
  static override flags = {
    lab: labFlag,
    config: Flags.string({ char: 'c', summary: 'k3s-style config.yaml [default: ./config.yaml, else the built-in default lab]', helpValue: 'FILE' }),
    filename: Flags.string({ char: 'f', summary: 'manifest file or directory to apply ("-" for stdin)', multiple: true, helpValue: 'MANIFEST|DIR' }),
    json: Flags.boolean({ summary: 'print the result as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    const lab = this.lab(flags.lab);
    const started = performance.now();
    // Everything the user wrote is read and validated before anything touches the kernel.
    const { config, warnings } = await loadConfig(flags.config);
    const manifests = flags.filename?.length ? await loadManifests(flags.filename) : { objects: [], warnings: [] };
    for (const w of [...warnings, ...manifests.warnings]) process.stderr.write(formatDiagnostic(w) + '\n');
    this.requireRoot('knetlab up');
    if (config.hostAccess) await checkHostAccess(lab, config);

    // Progress goes to stderr so that stdout holds only the result (and nothing but JSON with --json).
    const progressLogger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
    const ctx: { ensured?: EnsureResult; applied: ApplyResult[]; status?: LabStatus } = { applied: [] };
    await withLabLock(lab, () =>
      new Listr(
        [
          {
            title: 'Checking the host',
            task: async () => {
              const failed = failedChecks(await runChecks());
              if (failed.length) {
                throw new KnetlabError(`this machine cannot run a lab yet:\n${failed.map((c) => `  ${c.name}: ${c.detail} — fix: ${c.fix}`).join('\n')}`);
              }
            },
          },
          {
            title: `Building lab "${lab}": LAN, ${config.nodes.length} nodes`,
            task: async (_, task) => {
              ctx.ensured = await ensureLab(lab, config);
              if (!ctx.ensured.started) task.title = `Lab "${lab}" is running: ${ctx.ensured.changes.length ? ctx.ensured.changes.join('; ') : 'already matches the config'}`;
            },
          },
          {
            title: `Applying ${manifests.objects.length} objects`,
            enabled: manifests.objects.length > 0,
            task: async () => {
              ctx.applied = await applyObjects(lab, manifests.objects);
            },
          },
          { title: 'Reading the lab\'s status', task: async () => void (ctx.status = await labStatus(lab)) },
        ],
        { rendererOptions: { logger: progressLogger }, fallbackRendererOptions: { logger: progressLogger }, silentRendererCondition: flags.json },
      ).run(),
    );
    const seconds = Math.round(performance.now() - started) / 1000;
    const status = ctx.status!;
    if (flags.json) this.printJson({ lab, seconds, started: ctx.ensured?.started, changes: ctx.ensured?.changes, applied: ctx.applied, status });
    else process.stdout.write(formatUpSummary(status, ctx.applied, seconds) + '\n');
    if (ctx.applied.some((r) => r.error)) process.exitCode = 1;
  }
}
