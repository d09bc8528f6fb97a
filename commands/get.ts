import { Args, Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import type { List, Namespace, Node, Pod } from '../src/api/types.js';
import { namespacesTable, nodesTable, podsTable } from '../src/format/objects.js';

/** kubectl's resource names and short names, to the resource's API path. */
const RESOURCES: Record<string, { kind: 'Pod' | 'Node' | 'Namespace'; plural: string; namespaced: boolean }> = {};
for (const [names, kind, plural, namespaced] of [
  [['pods', 'pod', 'po'], 'Pod', 'pods', true],
  [['nodes', 'node', 'no'], 'Node', 'nodes', false],
  [['namespaces', 'namespace', 'ns'], 'Namespace', 'namespaces', false],
] as const) {
  for (const n of names) RESOURCES[n] = { kind, plural, namespaced };
}

export default class Get extends KnetlabCommand {
  static override summary = 'List nodes, pods or namespaces, as kubectl prints them';
  static override examples = [
    '<%= config.bin %> get nodes -o wide',
    '<%= config.bin %> get pods -A -o wide',
    '<%= config.bin %> get pod hello-1 -o json',
  ];
  static override args = {
    type: Args.string({ description: 'nodes, pods or namespaces (deployments, services and endpoints come with Services)', required: true }),
    name: Args.string({ description: 'one object by name' }),
  };
  static override flags = {
    lab: labFlag,
    namespace: Flags.string({ char: 'n', summary: 'namespace', default: 'default' }),
    'all-namespaces': Flags.boolean({ char: 'A', summary: 'list across all namespaces' }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['wide', 'json', 'yaml', 'name'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Get);
    const resource = RESOURCES[args.type];
    if (!resource) throw new UsageError(`the server doesn't have a resource type "${args.type}"`, { hint: 'knetlab knows nodes, pods and namespaces' });
    const lab = this.lab(flags.lab);
    const all = flags['all-namespaces'] && !args.name;
    const base = resource.namespaced && !all ? `/api/v1/namespaces/${flags.namespace}/${resource.plural}` : `/api/v1/${resource.plural}`;
    const client = new AgentClient(lab);
    let items: (Pod | Node | Namespace)[];
    let single: Pod | Node | Namespace | undefined;
    try {
      if (args.name) {
        single = await client.get<Pod | Node | Namespace>(`${base}/${args.name}`);
        items = [single];
      } else items = (await client.get<List<Pod | Node | Namespace>>(base)).items;
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) throw new KnetlabError(`Error from server (NotFound): ${err.message}`);
      throw err;
    }
    const list = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
    switch (flags.output) {
      case 'json':
        return this.printJson(single ?? list);
      case 'yaml':
        return void process.stdout.write(stringify(single ?? list));
      case 'name':
        return items.forEach((o) => this.log(`${resource.kind.toLowerCase()}/${o.metadata.name}`));
    }
    if (items.length === 0) {
      process.stderr.write(resource.namespaced && !all ? `No resources found in ${flags.namespace} namespace.\n` : 'No resources found\n');
      return;
    }
    const wide = flags.output === 'wide';
    if (resource.kind === 'Pod') this.log(podsTable(items as Pod[], { wide, allNamespaces: all }));
    else if (resource.kind === 'Node') this.log(nodesTable(items as Node[], { wide }));
    else this.log(namespacesTable(items as Namespace[]));
  }
}
