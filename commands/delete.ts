import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import { loadManifests } from '../src/manifests/load.js';

const PATHS: Record<string, (ns: string, name: string) => string> = {
  pod: (ns, name) => `/api/v1/namespaces/${ns}/pods/${name}`,
  namespace: (_, name) => `/api/v1/namespaces/${name}`,
};
const ALIASES: Record<string, string> = { pods: 'pod', po: 'pod', pod: 'pod', namespaces: 'namespace', namespace: 'namespace', ns: 'namespace' };

export default class Delete extends KnetlabCommand {
  static override summary = 'Delete pods or namespaces, by name or from manifests';
  static override description = 'A deleted pod\'s namespace, veth and IP go with it; a pod created again gets a new IP.';
  static override examples = ['<%= config.bin %> delete pod hello-1', '<%= config.bin %> delete pod web -n shop', '<%= config.bin %> delete -f examples/hello.yaml'];
  static override args = {
    type: Args.string({ description: 'pod or namespace' }),
    name: Args.string({ description: 'name of the object' }),
  };
  static override flags = {
    lab: labFlag,
    namespace: Flags.string({ char: 'n', summary: 'namespace', default: 'default' }),
    filename: Flags.string({ char: 'f', summary: 'delete the objects a manifest describes', multiple: true, helpValue: 'FILE|DIR|-' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Delete);
    const lab = this.lab(flags.lab);
    let targets: { type: string; namespace: string; name: string }[];
    if (flags.filename) {
      const { objects } = await loadManifests(flags.filename);
      // Pods before their namespaces, as kubectl orders deletions.
      targets = objects.map((o) => ({ type: o.kind.toLowerCase(), namespace: o.metadata.namespace ?? 'default', name: o.metadata.name })).sort((a, b) => (a.type === 'pod' ? -1 : 0) - (b.type === 'pod' ? -1 : 0));
    } else {
      const type = ALIASES[args.type ?? ''];
      if (!type || !args.name) throw new UsageError('say what to delete: TYPE NAME, or -f FILE', { hint: 'e.g. knetlab delete pod hello-1' });
      targets = [{ type, namespace: flags.namespace, name: args.name }];
    }
    const client = new AgentClient(lab);
    let failed = false;
    for (const t of targets) {
      try {
        await client.delete(PATHS[t.type]!(t.namespace, t.name));
        this.log(`${t.type}/${t.name} deleted`);
      } catch (err) {
        if (!(err instanceof ApiStatusError)) throw err;
        process.stderr.write(`Error from server (${err.reason}): ${err.message}\n`);
        failed = true;
      }
    }
    if (failed) throw new KnetlabError('some objects could not be deleted');
  }
}
