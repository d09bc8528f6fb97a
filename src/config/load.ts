// Reading the lab's config.yaml: find the file, then parse -> normalise -> rules, and either a
// LabConfig or every problem at once. Nothing here touches the kernel, so `up` can validate a
// config completely before it changes anything.
import { readFile } from 'node:fs/promises';
import type { Diagnostic } from '../diagnostics.js';
import { InvalidInputError, UsageError } from '../errors.js';
import { parseCidr } from '../ipam/cidr.js';
import { DEFAULT_CONFIG_YAML } from './default.js';
import { parseYaml } from './parse.js';
import { proxyModeOf } from './kube-proxy-args.js';
import { RULES, assignLanIPs, isFlannelBackend, parsePortRange } from './rules.js';
import { normalise, type Draft } from './schema.js';
import type { LabConfig } from './types.js';

export interface LoadedConfig {
  config: LabConfig;
  file: string;
  warnings: Diagnostic[];
}

export const DEFAULT_CONFIG_NAME = '<default config>';

/** Every diagnostic for the text, errors and warnings, in file order; a config only when there are no errors. */
export function checkConfig(text: string, file: string): { config: LabConfig | undefined; diagnostics: Diagnostic[] } {
  const parsed = parseYaml(text, file);
  if (!parsed.data) return { config: undefined, diagnostics: parsed.diagnostics };
  const { draft, diagnostics } = normalise(parsed.data, parsed.sourceMap, parsed.sourceText);
  for (const rule of RULES) diagnostics.push(...rule(draft, parsed.sourceMap));
  // Stable sort: problems at the same place keep the order the rules found them in.
  diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  const failed = diagnostics.some((d) => d.severity === 'error');
  return { config: failed ? undefined : toLabConfig(draft), diagnostics };
}

export function parseConfig(text: string, file: string): LoadedConfig {
  const { config, diagnostics } = checkConfig(text, file);
  if (!config) throw new InvalidInputError(diagnostics.filter((d) => d.severity === 'error'));
  return { config, file, warnings: diagnostics };
}

/** The given file; else ./config.yaml when it exists; else the embedded default. */
export async function loadConfig(file?: string): Promise<LoadedConfig> {
  if (file !== undefined) {
    const text = await readConfigFile(file);
    if (text === undefined) throw new UsageError(`config file "${file}" not found`, { hint: 'check the path given with -c, or leave -c out to use ./config.yaml or the built-in default' });
    return parseConfig(text, file);
  }
  const local = await readConfigFile('config.yaml');
  return local === undefined ? parseConfig(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_NAME) : parseConfig(local, 'config.yaml');
}

/** The file's text, or undefined when there is no such file. */
async function readConfigFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const reason = code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UsageError(`cannot read config file "${file}": ${reason}`, { hint: 'give the path of a config.yaml file with -c', cause: err });
  }
}

/** Only called when no rule failed, so every value is present and valid. */
function toLabConfig(draft: Draft): LabConfig {
  const nodes = draft.nodes!;
  const ips = assignLanIPs(nodes, parseCidr(draft['lan-cidr']!)!);
  const args = draft['kube-proxy-arg']!;
  const kubeProxyArgs = Array.isArray(args) ? [...args] : [args];
  const backend = draft['flannel-backend']!;
  if (!isFlannelBackend(backend)) throw new Error(`flannel-backend ${backend} passed the rules`); // unreachable
  return {
    clusterCIDR: draft['cluster-cidr']!,
    serviceCIDR: draft['service-cidr']!,
    clusterDNS: draft['cluster-dns']!,
    clusterDomain: draft['cluster-domain']!,
    serviceNodePortRange: parsePortRange(draft['service-node-port-range']!)!,
    flannelBackend: backend,
    proxyMode: proxyModeOf(kubeProxyArgs),
    kubeProxyArgs,
    nodeCIDRMaskSize: draft['node-cidr-mask-size-ipv4']!,
    lanCIDR: draft['lan-cidr']!,
    hostAccess: draft['host-access']!,
    nodes: nodes.map((n, i) => ({ name: n.name!, role: n.role!, labels: { ...n.labels }, ip: ips[i]! })),
  };
}
