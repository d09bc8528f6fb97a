import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import { loadManifests } from '../src/manifests/load.js';
import { findResource, resourcePath, type Resource } from '../src/format/resources.js';

const DELETABLE = ['Pod', 'Deployment', 'Service', 'Namespace'];

export default class Delete extends KnetlabCommand {
  static override summary = 'Delete pods, deployments, services or namespaces, by name or from manifests';
  static override description =
    "A deleted pod's namespace, veth and IP go with it. A pod that a Deployment owns is replaced at once by a new pod, with a new name and a new IP; the Service's ClusterIP stays.";
  static override examples = [
    '<%= config.bin %> delete pod hello-1',
    '<%= config.bin %> delete pod/hello-1 svc/hello',
    '<%= config.bin %> delete deployment web -n shop',
    '<%= config.bin %> delete -f examples/web.yaml',
  ];
  // As kubectl: TYPE NAME, or any number of TYPE/NAME.
  static override strict = false;
  static override args = {
    type: Args.string({ description: 'pod, deployment, service or namespace; or TYPE/NAME' }),
    name: Args.string({ description: 'name of the object' }),
  };
  static override flags = {
    lab: labFlag,
    namespace: Flags.string({ char: 'n', summary: 'namespace', default: 'default' }),
    filename: Flags.string({ char: 'f', summary: 'delete the objects a manifest describes', multiple: true, helpValue: 'FILE|DIR|-' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Delete);
    const lab = this.lab(flags.lab);
    let targets: { resource: Resource; namespace: string; name: string }[];
    if (flags.filename) {
      const { objects } = await loadManifests(flags.filename);
      // Namespaces last, as kubectl orders deletions: their contents go first.
      targets = objects
        .map((o) => ({ resource: findResource(o.kind)!, namespace: o.metadata.namespace ?? 'default', name: o.metadata.name }))
        .sort((a, b) => Number(a.resource.kind === 'Namespace') - Number(b.resource.kind === 'Namespace'));
    } else {
      targets = namedTargets(argv as string[]).map(([type, name]) => {
        const resource = findResource(type);
        if (!resource || !DELETABLE.includes(resource.kind) || !name) {
          throw new UsageError('say what to delete: TYPE NAME, TYPE/NAME..., or -f FILE', { hint: 'TYPE is pod, deployment, service or namespace, e.g. knetlab delete pod hello-1 or knetlab delete pod/hello-1' });
        }
        return { resource, namespace: flags.namespace, name };
      });
    }
    const client = new AgentClient(lab);
    let failed = false;
    for (const t of targets) {
      try {
        await client.delete(resourcePath(t.resource, t.namespace, t.name));
        this.log(`${t.resource.qualified} "${t.name}" deleted`);
      } catch (err) {
        if (!(err instanceof ApiStatusError)) throw err;
        process.stderr.write(`Error from server (${err.reason}): ${err.message}\n`);
        failed = true;
      }
    }
    if (failed) throw new KnetlabError('some objects could not be deleted');
  }
}

/** `TYPE NAME` or `TYPE/NAME...` as [type, name] pairs; anything else becomes one pair without a name (a usage error). */
function namedTargets(argv: string[]): [string, string | undefined][] {
  if (argv.length === 0) return [['', undefined]];
  if (argv.every((a) => a.includes('/'))) return argv.map((a) => [a.slice(0, a.indexOf('/')), a.slice(a.indexOf('/') + 1)]);
  if (argv.length === 2 && !argv[0]!.includes('/')) return [[argv[0]!, argv[1]]];
  return [['', undefined]];
}
