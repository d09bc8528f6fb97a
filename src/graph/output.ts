// The graph command's side of src/graph: reading the lab from its agent, choosing the format,
// and running Graphviz for `--format svg`. Graphviz is optional: without `dot` the svg format
// fails with a message that says how to get it and that `--format dot` or mermaid need nothing.
// conntrack reads the same objects (pods and Services name what the kernel rewrote).
import { execa } from 'execa';
import { extname } from 'node:path';
import type { Endpoints, List, Pod, Service } from '../api/types.js';
import { AgentClient } from '../client.js';
import { KnetlabError } from '../errors.js';
import type { LabStatus } from '../lifecycle/status.js';
import { labStatus } from '../lifecycle/up.js';
import { renderDot } from './dot.js';
import { renderMermaid } from './mermaid.js';
import type { TopologyModel } from './model.js';

export interface LabObjects {
  status: LabStatus;
  pods: Pod[];
  services: Service[];
  endpoints: Endpoints[];
}

/** The lab's status and every pod, Service and Endpoints object across all namespaces. */
export async function loadLabObjects(lab: string): Promise<LabObjects> {
  const client = new AgentClient(lab);
  const [status, pods, services, endpoints] = await Promise.all([
    labStatus(lab),
    client.get<List<Pod>>('/api/v1/pods'),
    client.get<List<Service>>('/api/v1/services'),
    client.get<List<Endpoints>>('/api/v1/endpoints'),
  ]);
  return { status, pods: pods.items, services: services.items, endpoints: endpoints.items };
}

export const GRAPH_FORMATS = ['mermaid', 'dot', 'svg'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** The format a file name implies when --format is not given: .dot/.gv, .svg, else mermaid. */
export function formatForFile(file: string | undefined): GraphFormat {
  const ext = file ? extname(file).toLowerCase() : '';
  if (ext === '.dot' || ext === '.gv') return 'dot';
  if (ext === '.svg') return 'svg';
  return 'mermaid';
}

/** The model as text in the format; `markdown` wraps Mermaid in a ```mermaid fence. */
export async function renderGraph(model: TopologyModel, format: GraphFormat, options: { markdown?: boolean } = {}): Promise<string> {
  if (format === 'dot') return renderDot(model);
  if (format === 'svg') return renderWithDot(renderDot(model), 'svg');
  const text = renderMermaid(model);
  return options.markdown ? '```mermaid\n' + text + '```\n' : text;
}

export const GRAPHVIZ_MISSING_HINT = 'install Graphviz (`apt-get install graphviz`), or use `--format dot` (and render it elsewhere) or `--format mermaid`, which need nothing installed';

export class GraphvizMissingError extends KnetlabError {
  constructor(program: string) {
    super(`--format svg needs Graphviz's \`${program}\` program, which is not installed`, { hint: GRAPHVIZ_MISSING_HINT });
  }
}

/** Runs `dot -T<format>` on the text; throws GraphvizMissingError when the program is not on PATH. */
export async function renderWithDot(dot: string, format = 'svg', program = 'dot'): Promise<string> {
  const result = await execa(program, [`-T${format}`], { input: dot, reject: false, stripFinalNewline: false });
  if (result.failed && result.exitCode === undefined) {
    if (result.code === 'ENOENT') throw new GraphvizMissingError(program);
    throw new KnetlabError(`could not run ${program}: ${result.shortMessage}`);
  }
  if (result.exitCode !== 0) throw new KnetlabError(`${program} -T${format} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return result.stdout;
}
