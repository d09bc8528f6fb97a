import { Args, Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import type { List } from '../src/api/types.js';
import type { StoredObject } from '../src/agent/store.js';
import { findResource, notFoundMessage, resourcePath, RESOURCE_NAMES } from '../src/format/resources.js';

export default class Get extends KnetlabCommand {
  static override summary = 'List objects as kubectl prints them: nodes, pods, deployments, services, endpoints, namespaces';
  static override examples = [
    '<%= config.bin %> get nodes -o wide',
    '<%= config.bin %> get pods -A -o wide',
    '<%= config.bin %> get svc web',
    '<%= config.bin %> get endpoints web -o json',
    '<%= config.bin %> get pods -w',
  ];
  static override args = {
    type: Args.string({ description: RESOURCE_NAMES, required: true }),
    name: Args.string({ description: 'one object by name' }),
  };
  static override flags = {
    lab: labFlag,
    namespace: Flags.string({ char: 'n', summary: 'namespace', default: 'default' }),
    'all-namespaces': Flags.boolean({ char: 'A', summary: 'list across all namespaces' }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['wide', 'json', 'yaml', 'name'] }),
    watch: Flags.boolean({ char: 'w', summary: 'after listing, print each change as it happens (Ctrl-C stops)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Get);
    const resource = findResource(args.type);
    if (!resource) throw new UsageError(`the server doesn't have a resource type "${args.type}"`, { hint: `knetlab knows ${RESOURCE_NAMES}` });
    const all = flags['all-namespaces'] && !args.name;
    const namespace = all ? undefined : flags.namespace;
    const client = new AgentClient(this.lab(flags.lab));
    let items: StoredObject[];
    let single: StoredObject | undefined;
    try {
      if (args.name) {
        single = await client.get<StoredObject>(resourcePath(resource, namespace, args.name));
        items = [single];
      } else items = (await client.get<List<StoredObject>>(resourcePath(resource, namespace))).items;
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) throw new KnetlabError(notFoundMessage(resource, args.name!));
      throw err;
    }
    const list = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
    switch (flags.output) {
      case 'json':
        return this.printJson(single ?? list);
      case 'yaml':
        return void process.stdout.write(stringify(single ?? list));
      case 'name':
        return items.forEach((o) => this.log(`${resource.qualified}/${o.metadata.name}`));
    }
    const options = { wide: flags.output === 'wide', allNamespaces: all && resource.namespaced };
    if (items.length === 0) process.stderr.write(resource.namespaced && !all ? `No resources found in ${flags.namespace} namespace.\n` : 'No resources found\n');
    else this.log(resource.table(items, options));
    if (!flags.watch) return;
    // As kubectl does: each change is one more row, the object as it is now (or was, when deleted).
    await client.watch<StoredObject>(resourcePath(resource, namespace), (type, object) => {
      if (args.name && object.metadata.name !== args.name) return;
      if (flags.output === 'json') return this.log(JSON.stringify({ type, object }));
      const row = resource.table([object], options).split('\n')[1] ?? '';
      this.log(type === 'DELETED' ? `${row}   (deleted)` : row);
    });
  }
}
