// `knetlab graph`: the lab's topology (LAN, nodes, bridges, pods, Services and their endpoints)
// as Mermaid (default), Graphviz DOT, or SVG through Graphviz. The model and the renderers are
// pure (src/graph); this command only reads the lab and writes the text.
import { Flags } from '@oclif/core';
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { buildTopology } from '../src/graph/model.js';
import { formatForFile, GRAPH_FORMATS, loadLabObjects, renderGraph, type GraphFormat } from '../src/graph/output.js';

export default class Graph extends KnetlabCommand {
  static override summary = "Draw the lab's topology: LAN, nodes, bridges, pods, Services and their endpoints";
  static override description = [
    'Mermaid (the default) renders in GitHub/GitLab markdown and at mermaid.live; DOT renders with Graphviz (`dot -Tsvg`); --format svg runs Graphviz for you when it is installed (`apt-get install graphviz`).',
    'Each node is a group holding its eth0 (LAN IP), flannel.1 (vxlan), the cni0 bridge and its pods; each Service points at its ready endpoints, labelled with their ports.',
    'With -o FILE the text goes to that file, and the format follows its extension (.mmd, .md, .dot, .gv, .svg) unless --format says otherwise. `-o json` (or --json) prints the model as JSON.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> graph',
    '<%= config.bin %> graph --format dot | dot -Tpng -o lab.png',
    '<%= config.bin %> graph -o lab.svg',
    '<%= config.bin %> graph -o LAB.md',
    '<%= config.bin %> graph -o json',
  ];
  static override flags = {
    lab: labFlag,
    format: Flags.string({ summary: "what to draw with [default: mermaid, or what the -o file's extension says]", options: [...GRAPH_FORMATS] }),
    output: Flags.string({ char: 'o', summary: 'write to FILE instead of stdout; "json" prints the model as JSON', helpValue: 'FILE|json' }),
    json: Flags.boolean({ summary: 'print the topology model as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Graph);
    const lab = this.lab(flags.lab);
    const json = flags.json || flags.output === 'json';
    const file = json ? undefined : flags.output;
    const model = buildTopology(await loadLabObjects(lab));
    if (json) return this.printJson(model);
    const format = (flags.format as GraphFormat | undefined) ?? formatForFile(file);
    const text = await renderGraph(model, format, { markdown: file !== undefined && extname(file).toLowerCase() === '.md' });
    if (!file) return void process.stdout.write(text);
    writeFileSync(file, text);
    const pods = model.nodes.reduce((n, x) => n + x.pods.length, model.unscheduled.length);
    process.stderr.write(`wrote the ${format} graph of lab "${lab}" (${model.nodes.length} nodes, ${pods} pods, ${model.services.length} services) to ${file}\n`);
  }
}
