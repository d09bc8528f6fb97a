import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import type { Endpoints, List, Node, Pod, Service } from '../src/api/types.js';
import { describeNode, describePod, describeService } from '../src/format/describe.js';
import { findResource, notFoundMessage, resourcePath } from '../src/format/resources.js';

export default class Describe extends KnetlabCommand {
  static override summary = 'Show a pod, service or node in detail, as kubectl describe does';
  static override examples = ['<%= config.bin %> describe pod hello-1', '<%= config.bin %> describe svc web', '<%= config.bin %> describe node agent-1'];
  static override args = {
    type: Args.string({ description: 'pod, service or node', required: true }),
    name: Args.string({ description: 'name of the object', required: true }),
  };
  static override flags = { lab: labFlag, namespace: Flags.string({ char: 'n', summary: 'namespace', default: 'default' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Describe);
    const resource = findResource(args.type);
    if (!resource || !['Pod', 'Service', 'Node'].includes(resource.kind)) throw new UsageError(`cannot describe "${args.type}"`, { hint: 'describe pod, service or node' });
    const client = new AgentClient(this.lab(flags.lab));
    try {
      const object = await client.get<Pod | Service | Node>(resourcePath(resource, flags.namespace, args.name));
      if (object.kind === 'Pod') this.log(describePod(object));
      else if (object.kind === 'Service') {
        const endpoints = await client.get<Endpoints>(`/api/v1/namespaces/${flags.namespace}/endpoints/${args.name}`).catch(() => undefined);
        this.log(describeService(object, endpoints));
      } else {
        const pods = (await client.get<List<Pod>>('/api/v1/pods')).items.filter((p) => p.spec.nodeName === object.metadata.name);
        this.log(describeNode(object, pods));
      }
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) throw new KnetlabError(notFoundMessage(resource, args.name!));
      throw err;
    }
  }
}
