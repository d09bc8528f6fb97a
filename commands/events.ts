import { Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient } from '../src/client.js';
import type { Event, List } from '../src/api/types.js';
import { eventsTable } from '../src/format/objects.js';

export default class Events extends KnetlabCommand {
  static override summary = 'What the agent did and why: pods scheduled, started and stopped, endpoints changed, rules synced, DNS names';
  static override description =
    'Kubernetes Events, from the components whose work the agent does: default-scheduler, kubelet, endpoint-controller, deployment-controller, coredns and kube-proxy (one "Synced" per node and sync, with its size and duration). All namespaces unless -n is given.';
  static override examples = ['<%= config.bin %> events', '<%= config.bin %> events -w', '<%= config.bin %> events -n default -o json'];
  static override flags = {
    lab: labFlag,
    namespace: Flags.string({ char: 'n', summary: 'only events in this namespace (Node events are in default)' }),
    watch: Flags.boolean({ char: 'w', summary: 'after listing, print each new event as it happens (Ctrl-C stops)' }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    const client = new AgentClient(this.lab(flags.lab));
    const path = flags.namespace ? `/api/v1/namespaces/${flags.namespace}/events` : '/api/v1/events';
    const { items } = await client.get<List<Event>>(path);
    const allNamespaces = !flags.namespace;
    if (flags.output === 'json' && !flags.watch) return this.printJson({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items });
    if (flags.output === 'json') items.forEach((e) => this.log(JSON.stringify(e)));
    else if (items.length) this.log(eventsTable(items, { allNamespaces }));
    if (!flags.watch) return;
    await client.watch<Event>(path, (type, event) => {
      if (type !== 'ADDED') return;
      this.log(flags.output === 'json' ? JSON.stringify(event) : eventsTable([event], { allNamespaces }).split('\n')[1]!);
    });
  }
}
