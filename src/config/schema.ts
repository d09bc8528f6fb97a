// Step 2 of reading config.yaml: plain YAML data -> a Draft of typed values. zod checks the type
// of each value; each key is checked on its own so that one wrong value never hides the problems
// in the others. Keys k3s knows but the lab does not use are accepted with a warning, so a real
// /etc/rancher/k3s/config.yaml carries over; anything else is an error with a did-you-mean.
// The formats Kubernetes requires of names and labels live here too, next to the types.
import { z } from 'zod';
import type { Diagnostic, PathSegment, SourceMap } from '../diagnostics.js';
import type { NodeRole } from './types.js';
import { DEFAULTS } from './default.js';
import { K3S_KEYS, didYouMean } from './suggest.js';

interface FieldSpec {
  schema: z.ZodType;
  /** What the value should be, for "expected X, got Y". */
  expects: string;
  /** A correct line to copy, for the fix. */
  example: string;
  /** How to fix a wrong value, when "write it like <example>" is not enough. */
  fix?: string;
}

const textOrList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v.join(',') : v));
const wholeNumber = z.union([z.number(), z.string().regex(/^\s*\d+\s*$/).transform(Number)]);

const CONFIG_FIELDS = {
  'cluster-cidr': { schema: textOrList, expects: 'an IPv4 CIDR such as 10.42.0.0/16', example: 'cluster-cidr: 10.42.0.0/16' },
  'service-cidr': { schema: textOrList, expects: 'an IPv4 CIDR such as 10.43.0.0/16', example: 'service-cidr: 10.43.0.0/16' },
  'cluster-dns': { schema: textOrList, expects: 'an IPv4 address such as 10.43.0.10', example: 'cluster-dns: 10.43.0.10' },
  'cluster-domain': { schema: z.string(), expects: 'a DNS domain such as cluster.local', example: 'cluster-domain: cluster.local' },
  'service-node-port-range': { schema: z.string(), expects: 'a port range MIN-MAX such as 30000-32767', example: 'service-node-port-range: 30000-32767' },
  // The backend name is checked by a rule, which can say why a k3s backend is missing from the lab.
  'flannel-backend': { schema: z.string(), expects: 'a flannel backend name (vxlan, host-gw or none)', example: 'flannel-backend: vxlan' },
  'kube-proxy-arg': { schema: z.union([z.string(), z.array(z.string())]), expects: 'a key=value string or a list of them', example: 'kube-proxy-arg: [proxy-mode=iptables]' },
  'node-cidr-mask-size-ipv4': { schema: wholeNumber, expects: 'a prefix length such as 24', example: 'node-cidr-mask-size-ipv4: 24' },
  'lan-cidr': { schema: textOrList, expects: 'an IPv4 CIDR such as 192.168.100.0/24', example: 'lan-cidr: 192.168.100.0/24' },
  // Only the type is checked here: whether the host can take the routes (no other lab holds host
  // access, no route for these ranges exists already) depends on the host, so `up` checks it.
  'host-access': { schema: z.boolean(), expects: 'true or false', example: 'host-access: true', fix: 'write `host-access: true` or `host-access: false`, without quotes' },
  nodes: { schema: z.array(z.unknown()), expects: 'a list of nodes', example: 'nodes: [{name: server, role: server}, {name: agent-1}]' },
} satisfies Record<string, FieldSpec>;

const NODE_FIELDS = {
  name: { schema: z.string(), expects: 'a node name such as agent-1', example: 'name: agent-1' },
  role: { schema: z.enum(['server', 'agent']), expects: 'a node role (server or agent)', example: 'role: agent', fix: 'use server (runs the control plane, like `k3s server`) or agent (a worker, like `k3s agent`)' },
  labels: { schema: z.record(z.string(), z.string()), expects: 'a mapping of label names to values', example: 'labels: {zone: a}' },
  ip: { schema: z.string(), expects: 'an IPv4 address on lan-cidr such as 192.168.100.20', example: 'ip: 192.168.100.20' },
} satisfies Record<string, FieldSpec>;

export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as (keyof typeof CONFIG_FIELDS)[];
export const NODE_KEYS = Object.keys(NODE_FIELDS) as (keyof typeof NODE_FIELDS)[];

export interface DraftNode {
  index: number;
  /** False when the list item was not a mapping at all (already reported). */
  entry: boolean;
  /** Keys present in this node entry. */
  written: ReadonlySet<string>;
  name?: string;
  role?: NodeRole;
  labels?: Record<string, string>;
  ip?: string;
}

/** Typed values by config key; a key is missing when its value was rejected (and reported). */
export interface Draft {
  /** Top-level keys present in the file; the rest hold defaults. */
  written: ReadonlySet<string>;
  'cluster-cidr'?: string;
  'service-cidr'?: string;
  'cluster-dns'?: string;
  'cluster-domain'?: string;
  'service-node-port-range'?: string;
  'flannel-backend'?: string;
  'kube-proxy-arg'?: string | string[];
  'node-cidr-mask-size-ipv4'?: number;
  'lan-cidr'?: string;
  'host-access'?: boolean;
  nodes?: DraftNode[];
}

type SourceText = (path: readonly PathSegment[]) => string | undefined;

export function normalise(data: Record<string, unknown>, sm: SourceMap, sourceText: SourceText): { draft: Draft; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = checkKeys(data, [], CONFIG_KEYS, sm, true);
  const draft: Draft = { written: new Set(Object.keys(data).filter((k) => k in CONFIG_FIELDS)) };
  const out = draft as unknown as Record<string, unknown>;
  for (const key of CONFIG_KEYS) {
    const written = Object.hasOwn(data, key);
    const result = parseField(CONFIG_FIELDS[key], written ? data[key] : DEFAULTS[key], [key], sm, sourceText);
    diagnostics.push(...result.diagnostics);
    if (result.ok) out[key] = result.value;
  }
  if (draft.nodes) draft.nodes = (draft.nodes as unknown[]).map((raw, index) => normaliseNode(raw, index, sm, sourceText, diagnostics));
  return { draft, diagnostics };
}

function normaliseNode(raw: unknown, index: number, sm: SourceMap, sourceText: SourceText, diagnostics: Diagnostic[]): DraftNode {
  const path = ['nodes', index];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const fix = typeof raw === 'string' ? `write it as a mapping: \`- name: ${raw}\`` : 'write it as a mapping, e.g. `- name: agent-1`';
    diagnostics.push(sm.diagnostic(path, `expected a node (a mapping with name, role, labels, ip), got ${describe(raw)}`, fix));
    return { index, entry: false, written: new Set() };
  }
  const entry = raw as Record<string, unknown>;
  diagnostics.push(...checkKeys(entry, path, NODE_KEYS, sm, false));
  const node: DraftNode = { index, entry: true, written: new Set(Object.keys(entry)) };
  const out = node as unknown as Record<string, unknown>;
  for (const key of NODE_KEYS) {
    if (!Object.hasOwn(entry, key)) continue;
    const result = parseField(NODE_FIELDS[key], entry[key], [...path, key], sm, sourceText);
    diagnostics.push(...result.diagnostics);
    if (result.ok) out[key] = result.value;
  }
  if (!Object.hasOwn(entry, 'role')) node.role = 'agent';
  if (!Object.hasOwn(entry, 'labels')) node.labels = {};
  return node;
}

/** What people coming from k3s flags or other tools write inside a node entry. */
const NODE_KEY_ALIASES: Record<string, string> = { 'node-name': 'name', hostname: 'name', 'node-ip': 'ip', address: 'ip', 'node-label': 'labels', 'node-labels': 'labels', type: 'role' };

/** Unknown keys are errors with a suggestion; at the top level, k3s's own keys are warnings. */
function checkKeys(entry: Record<string, unknown>, path: PathSegment[], known: readonly string[], sm: SourceMap, topLevel: boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const key of Object.keys(entry)) {
    if (known.includes(key)) continue;
    const at = [...path, key];
    // k3s also reads `key+:` (append to the value from an earlier file).
    if (topLevel && K3S_KEYS.has(key.replace(/\+$/, ''))) {
      out.push(sm.diagnostic(at, 'a k3s setting, ignored by knetlab', 'nothing to do: it still applies when this file configures a real k3s node (delete it to silence this warning)', { at: 'key', severity: 'warning' }));
      continue;
    }
    const where = topLevel ? 'a k3s or knetlab setting' : 'a node setting (a node has name, role, labels and ip)';
    const alias = topLevel ? undefined : NODE_KEY_ALIASES[key];
    const suggestion = alias ? `did you mean \`${alias}\`?` : didYouMean(key, topLevel ? [...known, ...K3S_KEYS] : known);
    out.push(sm.diagnostic(at, `unknown key "${key}": not ${where}`, suggestion ?? (topLevel ? 'delete it, or check the spelling against `k3s server --help`' : `delete it; a node takes only ${known.join(', ')}`), { at: 'key' }));
  }
  return out;
}

function parseField(spec: FieldSpec, value: unknown, path: PathSegment[], sm: SourceMap, sourceText: SourceText): { ok: boolean; value?: unknown; diagnostics: Diagnostic[] } {
  const result = spec.schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data, diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const issue of result.error.issues.flatMap(deepest)) {
    const at = [...path, ...(issue.path as PathSegment[])];
    const key = JSON.stringify(at);
    if (seen.has(key)) continue; // one problem per place is enough
    seen.add(key);
    diagnostics.push(issueDiagnostic(issue, spec, value, at, path.length, sm, sourceText));
  }
  return { ok: false, diagnostics };
}

/**
 * A union (`string | string[]`) fails as a whole; when one branch got further into the value
 * (a list whose third item is a number), that branch's issues say more.
 */
function deepest(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const deeper = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
  return deeper ? deeper.map((i) => ({ ...i, path: [...issue.path, ...i.path] })).flatMap(deepest) : [issue];
}

/** zod's wording ("Invalid input: expected string, received number") rewritten for people. */
function issueDiagnostic(issue: z.core.$ZodIssue, spec: FieldSpec, root: unknown, at: PathSegment[], depth: number, sm: SourceMap, sourceText: SourceText): Diagnostic {
  const value = (issue.path as PathSegment[]).reduce<unknown>((v, seg) => (v as Record<PathSegment, unknown> | undefined)?.[seg], root);
  if (at.length === depth) {
    const message = value === null ? `has no value; expected ${spec.expects}` : issue.code === 'invalid_value' ? `${describe(value)} is not ${spec.expects}` : `expected ${spec.expects}, got ${describe(value)}`;
    const fix = value === null ? `write a value, e.g. \`${spec.example}\`, or delete the line to use the default` : (spec.fix ?? `write it like \`${spec.example}\``);
    return sm.diagnostic(at, message, fix);
  }
  // Deeper inside a value: a list item or a label value that should have been a string.
  const written = sourceText(at) ?? String(value);
  const fix = typeof value === 'number' || typeof value === 'boolean' ? `quote it: "${written}"` : value === null ? 'write a value, or "" for an empty one' : 'write a string';
  return sm.diagnostic(at, `expected a string, got ${describe(value)}`, fix);
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `a ${typeof value} (${String(value)})`;
}

// The shapes Kubernetes requires of names, label keys and label values (validation.go upstream).
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function isDNS1123Subdomain(text: string): boolean {
  return text.length <= 253 && text.split('.').every((part) => part.length <= 63 && DNS1123_LABEL.test(part));
}

/** A close valid spelling, for a fix: `invalid` characters become '-', ends trimmed to a letter or digit. */
export function sanitize(text: string, invalid: RegExp, max = 63): string {
  return text.replace(invalid, '-').replace(/-+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, max).replace(/[^A-Za-z0-9]+$/, '');
}

export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'it may contain at most one "/", between an optional DNS prefix and the name';
  const name = parts[parts.length - 1]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  if (prefix !== undefined && (prefix === '' || !isDNS1123Subdomain(prefix))) return `the prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lowercase letters, digits, '-' and '.', like example.com)`;
  if (name.length > 63) return `the name part is ${name.length} characters long; at most 63 are allowed`;
  if (!LABEL_NAME.test(name)) return "the name part must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
  return undefined;
}

export function suggestLabelKey(key: string): string {
  const [first, ...rest] = key.split('/');
  const name = sanitize(rest.length ? rest.join('-') : first!, /[^-A-Za-z0-9_.]/g) || 'name';
  if (!rest.length) return name;
  const prefix = first!.toLowerCase().split('.').map((p) => sanitize(p, /[^a-z0-9-]/g)).filter(Boolean).join('.');
  return prefix ? `${prefix}/${name}` : name;
}
