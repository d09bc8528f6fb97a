// `metadata` is shared by every kind: its decoded shape (name, namespace, labels, annotations; the
// rest is the apiserver's to fill in) and the rules Kubernetes applies to it. Label maps are checked
// here too, because `nodeSelector` follows the same rules as `labels`.
import * as z from 'zod';
import { checkDNS1123Label, checkLabelValue, checkQualifiedName, type NameProblem } from './names.js';
import { isMapping } from './decode.js';
import { OBJECT_META_FIELDS, checkFieldNames } from './vocabulary.js';
import type { Reporter, Path } from './report.js';

const stringMap = z.record(z.string(), z.string());

/** Metadata of an object that lives in a namespace; an absent or empty namespace means "default", as in kubectl. */
export const namespacedMetadataSchema = z.object({
  name: z.string(),
  namespace: z
    .string()
    .optional()
    .transform((namespace) => namespace || 'default'),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

/** Metadata of a cluster-scoped object (a Namespace); a `namespace` written there is ignored. */
export const clusterMetadataSchema = z.object({
  name: z.string(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

/** Metadata of a pod template: only labels and annotations; a name written there is ignored. */
export const templateMetadataSchema = z.object({
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

/** The apiserver's limit on the total size of an object's annotations (keys plus values). */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export interface MetadataRules {
  /** The rule the object's name must follow (pods: DNS-1123 subdomain; namespaces: label). */
  checkName: (name: string) => NameProblem | undefined;
  namespaced: boolean;
}

/** `path` is where the metadata is: `metadata`, or `spec.template.metadata` for a pod template. */
export function checkMetadata(metadata: unknown, report: Reporter, rules: MetadataRules, path: Path = ['metadata']): void {
  if (!isMapping(metadata)) return; // decoding reports a missing or mistyped metadata
  checkFieldNames(metadata, path, OBJECT_META_FIELDS, 'metadata', report);
  const { name, namespace, labels, annotations } = metadata;
  if (typeof name === 'string') reportProblem(rules.checkName(name), [...path, 'name'], report);
  if (rules.namespaced && typeof namespace === 'string' && namespace !== '') reportProblem(checkDNS1123Label(namespace), [...path, 'namespace'], report);
  checkLabels(labels, [...path, 'labels'], report);
  checkAnnotations(annotations, [...path, 'annotations'], report);
}

/** Label keys and values; used for `metadata.labels` and for `spec.nodeSelector`. */
export function checkLabels(labels: unknown, path: Path, report: Reporter): void {
  if (!isMapping(labels)) return;
  for (const [key, value] of Object.entries(labels)) {
    reportProblem(checkQualifiedName(key), [...path, key], report, 'key');
    if (typeof value === 'string') reportProblem(checkLabelValue(value), [...path, key], report);
  }
}

function checkAnnotations(annotations: unknown, path: Path, report: Reporter): void {
  if (!isMapping(annotations)) return;
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations)) {
    reportProblem(checkQualifiedName(key), [...path, key], report, 'key');
    bytes += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  }
  if (bytes > ANNOTATIONS_MAX_BYTES) {
    report.error(path, `annotations total ${bytes} bytes; Kubernetes allows at most ${ANNOTATIONS_MAX_BYTES}`, 'move large data into a ConfigMap');
  }
}

export function reportProblem(problem: NameProblem | undefined, path: Path, report: Reporter, at: 'value' | 'key' = 'value'): void {
  if (problem) report.error(path, problem.message, problem.fix, at);
}
