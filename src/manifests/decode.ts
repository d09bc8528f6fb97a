// Decoding checks what Go's JSON decoder checks in a real apiserver: the types of the fields the lab
// keeps, and that required ones are present. zod does the work (and fills defaults and drops the
// fields the lab does not keep); this file turns zod's issues into diagnostics a student can act on,
// including the YAML surprise of an unquoted `yes` or `1.10` that is not the string it looks like.
import type * as z from 'zod';
import { formatPath } from '../diagnostics.js';
import type { Reporter, Path } from './report.js';
import { closestMatch } from './vocabulary.js';

/** How to add a required field when it is missing, by field name. */
const ADD_REQUIRED: Record<string, string> = {
  metadata: 'add a `metadata:` section with at least a `name:`',
  name: 'add `name:` with a lowercase name, e.g. `name: web`',
  spec: 'add a `spec:` section with `containers:`',
  containers: 'add `containers:` with at least one `- name: ...` and `image: ...`',
  image: 'add `image:`, e.g. `image: nginx:1.27` (knetlab does not run it, but Kubernetes requires it)',
  containerPort: 'add `containerPort:` with the port number the container listens on, e.g. `containerPort: 8080`',
  selector: 'add `selector:` with `matchLabels:`, the labels of the pods it owns, e.g. `app: web`',
  template: 'add `template:` with `metadata.labels` and a pod `spec:`',
  port: 'add `port:` with the port number the Service listens on, e.g. `port: 80`',
};

/**
 * Decodes `input` with `schema`, reporting every issue; returns the decoded value when there were
 * none. `addRequired` overrides ADD_REQUIRED by path (`spec`, `spec.template.spec`) for kinds whose
 * required fields need other advice than a Pod's.
 */
export function decode<S extends z.ZodType>(schema: S, input: unknown, path: Path, report: Reporter, addRequired: Record<string, string> = {}): z.output<S> | undefined {
  const result = schema.safeParse(withoutNulls(input), { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    if (!isMisspelledSibling(input, issue)) reportIssue(issue, [...path, ...(issue.path as Path)], report, addRequired[formatPath(issue.path as Path)]);
  }
  return undefined;
}

/**
 * A required field that is "missing" because it was misspelled (`metdata`) has already been
 * reported, with a did-you-mean, by the field-name check; saying it is missing too is noise.
 */
function isMisspelledSibling(input: unknown, issue: z.core.$ZodIssue): boolean {
  if (issue.code !== 'invalid_type' || issue.input !== undefined) return false;
  const field = String(issue.path[issue.path.length - 1]);
  let parent: unknown = input;
  for (const segment of issue.path.slice(0, -1)) parent = (parent as Record<PropertyKey, unknown> | undefined)?.[segment];
  return isMapping(parent) && Object.keys(parent).some((key) => key !== field && closestMatch(key, [field]) === field);
}

/** A YAML mapping as parsed: a plain object, not a list or a scalar. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Drops mapping entries whose value is null (`labels:` with nothing under it). Go decodes a JSON
 * null into the zero value, so Kubernetes treats such a field as absent, and so does the lab.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

function reportIssue(issue: z.core.$ZodIssue, path: Path, report: Reporter, addRequired: string | undefined): void {
  const field = String(path[path.length - 1] ?? 'value');
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) {
      report.error(path, `${field} is required`, addRequired ?? ADD_REQUIRED[field] ?? `add \`${field}:\``);
      return;
    }
    const { message, fix } = describeTypeProblem(issue.expected, issue.input, report.sourceText(path));
    report.error(path, message, fix);
    return;
  }
  report.error(path, issue.message, 'see the Kubernetes API reference for this field');
}

function describeTypeProblem(expected: string, input: unknown, source: string | undefined): { message: string; fix: string } {
  const got = describeValue(input);
  switch (expected) {
    case 'string': {
      const quoted = JSON.stringify(source ?? String(input));
      if (typeof input === 'boolean') return { message: `must be a string, not ${got} (YAML reads an unquoted ${source ?? input} as a boolean)`, fix: `quote it: ${quoted}` };
      if (typeof input === 'number') return { message: `must be a string, not ${got}`, fix: `quote it: ${quoted}` };
      return { message: `must be a string, not ${got}`, fix: 'write a single string value' };
    }
    case 'int':
    case 'number': {
      if (typeof input === 'string' && /^\d+$/.test(input)) return { message: `must be a number, not the string ${JSON.stringify(input)}`, fix: `remove the quotes: ${input}` };
      return { message: `must be a whole number, not ${got}`, fix: 'write a whole number, e.g. 8080' };
    }
    case 'array':
      return { message: `must be a list, not ${got}`, fix: 'write each item on its own line, starting with "- "' };
    case 'object':
    case 'record':
      return { message: `must be a mapping of keys to values, not ${got}`, fix: 'write indented `key: value` lines under it' };
    default:
      return { message: `must be ${expected}, not ${got}`, fix: 'see the Kubernetes API reference for this field' };
  }
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (typeof value === 'number') return `the number ${value}`;
  return String(value);
}
