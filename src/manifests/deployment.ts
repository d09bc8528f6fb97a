// An apps/v1 Deployment as the lab reads it: how many pods (replicas), which pods are its own
// (selector), and what each new pod looks like (template). The template's spec is checked exactly
// as a Pod's spec is, and its labels must match the selector, as the apiserver insists, because a
// Deployment that does not select its own pods would create them without end. Rollout settings
// (strategy, revisionHistoryLimit, minReadySeconds, ...) are accepted and ignored.
import * as z from 'zod';
import type { Deployment, LabelSelector } from '../api/types.js';
import { decode, isMapping, withoutNulls } from './decode.js';
import { checkMetadata, namespacedMetadataSchema, templateMetadataSchema } from './metadata.js';
import { checkDNS1123Subdomain } from './names.js';
import { checkPodSpec, podSpecSchema } from './pod.js';
import type { Path, Reporter } from './report.js';
import { checkLabelSelector, isEmptySelector, labelSelectorSchema, unmatchedRequirement } from './selector.js';
import { DEPLOYMENT_SPEC_FIELDS, POD_TEMPLATE_FIELDS, checkFieldNames } from './vocabulary.js';

// apiVersion and kind were checked before the object came here.
const deploymentSchema = z.object({
  metadata: namespacedMetadataSchema,
  spec: z.object({
    replicas: z.int().default(1),
    selector: labelSelectorSchema,
    template: z.object({
      metadata: templateMetadataSchema.default({}),
      spec: podSpecSchema,
    }),
  }),
});

const labelsSchema = z.record(z.string(), z.string());

const ADD_REQUIRED = {
  spec: 'add a `spec:` section with `selector:` and `template:`',
  'spec.template.spec': 'add a pod `spec:` under `template:`, with `containers:`',
};

const SPEC: Path = ['spec'];
const TEMPLATE: Path = ['spec', 'template'];

/** Returns the normalised Deployment, or undefined when the object has errors (all of them reported). */
export function validateDeployment(object: Record<string, unknown>, report: Reporter): Deployment | undefined {
  const errorsBefore = report.errorCount;
  checkMetadata(object.metadata, report, { checkName: checkDNS1123Subdomain, namespaced: true });
  checkDeploymentSpec(object.spec, report);
  const decoded = decode(deploymentSchema, object, [], report, ADD_REQUIRED);
  if (!decoded || report.errorCount !== errorsBefore) return undefined;
  // The selector's operators were checked above; the schema's types cannot say so.
  return { apiVersion: 'apps/v1', kind: 'Deployment', ...decoded } as Deployment;
}

function checkDeploymentSpec(spec: unknown, report: Reporter): void {
  if (!isMapping(spec)) return;
  checkFieldNames(spec, SPEC, DEPLOYMENT_SPEC_FIELDS, 'a Deployment spec', report);
  const { replicas, selector, template } = spec;
  if (typeof replicas === 'number' && Number.isInteger(replicas) && replicas < 0) {
    report.error([...SPEC, 'replicas'], `replicas must be 0 or more, not ${replicas}`, 'write how many pods to run, e.g. `replicas: 3` (0 stops them all)');
  }
  const errorsBefore = report.errorCount;
  checkLabelSelector(selector, [...SPEC, 'selector'], report);
  const selectorOk = report.errorCount === errorsBefore;
  if (isMapping(template)) checkTemplate(template, report);
  if (selectorOk) checkSelectorMatchesTemplate(selector, template, report);
}

function checkTemplate(template: Record<string, unknown>, report: Reporter): void {
  checkFieldNames(template, TEMPLATE, POD_TEMPLATE_FIELDS, 'a pod template', report, { exhaustive: true });
  // A template's name is ignored: each pod is named after the Deployment plus a suffix.
  checkMetadata(template.metadata, report, { checkName: () => undefined, namespaced: false }, [...TEMPLATE, 'metadata']);
  const { spec } = template;
  checkPodSpec(spec, [...TEMPLATE, 'spec'], 'a pod template spec', report);
  const restartPolicy = isMapping(spec) ? spec.restartPolicy : undefined;
  if (typeof restartPolicy === 'string' && restartPolicy !== 'Always') {
    report.error([...TEMPLATE, 'spec', 'restartPolicy'], `the pods of a Deployment must have restartPolicy Always, not ${JSON.stringify(restartPolicy)}`, 'remove restartPolicy (Always is the default); a Job runs pods to completion');
  }
}

/**
 * The apiserver's "`selector` does not match template `labels`", naming the requirement that fails.
 * Checked on the written values, decoded here on their own, so that it is reported with the other
 * problems of the file rather than after they are fixed. A mistyped part is left to decoding.
 */
function checkSelectorMatchesTemplate(rawSelector: unknown, template: unknown, report: Reporter): void {
  const rawLabels = isMapping(template) && isMapping(template.metadata) ? template.metadata.labels : undefined;
  const selector = labelSelectorSchema.safeParse(withoutNulls(rawSelector));
  const labels = labelsSchema.safeParse(withoutNulls(rawLabels) ?? {});
  if (!selector.success || !labels.success) return;
  if (isEmptySelector(selector.data as LabelSelector)) {
    report.error([...SPEC, 'selector'], 'an empty selector is invalid for a Deployment: it would claim every pod of the namespace', 'add `matchLabels:` with the labels of the template, e.g. `app: web`');
    return;
  }
  const failed = unmatchedRequirement(selector.data as LabelSelector, labels.data);
  if (failed === undefined) return;
  const written = Object.entries(labels.data).map(([key, value]) => `${key}=${value}`).join(',');
  const [key, value] = Object.entries(selector.data.matchLabels ?? {}).find(([k, v]) => `${k}=${v}` === failed) ?? [];
  report.error(
    [...TEMPLATE, 'metadata', 'labels'],
    `\`selector\` does not match template \`labels\`: ${written === '' ? 'the template has no labels, so it cannot satisfy' : `the labels ${written} do not satisfy`} the selector's ${failed}`,
    `${key === undefined ? 'give the template labels that the selector matches' : `set \`${key}: ${value}\` in the template's labels`}, so that the Deployment owns the pods it creates`,
  );
}
