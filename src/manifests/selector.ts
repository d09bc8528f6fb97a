// Label selectors (`matchLabels` and `matchExpressions`), as a Deployment uses them to find its pods:
// checked by the rules of apimachinery's ValidateLabelSelector, and matched against labels as the
// apiserver and the controllers match them, so that a Deployment whose selector does not match its
// own template is refused before any pod is made, with the requirement that failed named.
import * as z from 'zod';
import type { LabelSelector } from '../api/types.js';
import { isMapping } from './decode.js';
import { checkLabels, reportProblem } from './metadata.js';
import { checkLabelValue, checkQualifiedName } from './names.js';
import type { Path, Reporter } from './report.js';
import { LABEL_SELECTOR_FIELDS, SELECTOR_REQUIREMENT_FIELDS, checkFieldNames, closestMatch } from './vocabulary.js';

export const labelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.string(), // checked against OPERATORS by checkRequirement
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

type Requirement = NonNullable<LabelSelector['matchExpressions']>[number];

/** Reports every problem of the selector at `path`; decoding reports its missing or mistyped parts. */
export function checkLabelSelector(selector: unknown, path: Path, report: Reporter): void {
  if (!isMapping(selector)) return;
  checkFieldNames(selector, path, LABEL_SELECTOR_FIELDS, 'a label selector', report);
  checkLabels(selector.matchLabels, [...path, 'matchLabels'], report);
  const { matchExpressions } = selector;
  if (Array.isArray(matchExpressions)) matchExpressions.forEach((requirement, i) => checkRequirement(requirement, [...path, 'matchExpressions', i], report));
}

function checkRequirement(requirement: unknown, path: Path, report: Reporter): void {
  if (!isMapping(requirement)) return;
  checkFieldNames(requirement, path, SELECTOR_REQUIREMENT_FIELDS, 'a selector requirement', report);
  const { key, operator, values } = requirement;
  if (typeof key === 'string') reportProblem(checkQualifiedName(key), [...path, 'key'], report);
  if (Array.isArray(values)) {
    values.forEach((value, i) => {
      if (typeof value === 'string') reportProblem(checkLabelValue(value), [...path, 'values', i], report);
    });
  }
  if (typeof operator !== 'string') return;
  const count = Array.isArray(values) ? values.length : 0;
  if (!OPERATORS.includes(operator)) {
    const guess = closestMatch(operator, OPERATORS);
    report.error([...path, 'operator'], `${JSON.stringify(operator)} is not a selector operator`, guess ? `did you mean ${JSON.stringify(guess)}?` : `use one of ${OPERATORS.join(', ')}`);
  } else if ((operator === 'In' || operator === 'NotIn') && count === 0) {
    report.error([...path, 'values'], `values must list at least one value when operator is ${operator}`, `add the label values to compare with, e.g. \`values: [web, api]\`, or use operator Exists`);
  } else if ((operator === 'Exists' || operator === 'DoesNotExist') && count > 0) {
    report.error([...path, 'values'], `values must be empty when operator is ${operator}; it looks only at whether the key is there`, 'remove values, or use operator In to compare values');
  }
}

/** A selector with nothing in it, which would select every pod of the namespace. */
export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** The first requirement of `selector` that `labels` fail, written as kubectl writes it; undefined when they match. */
export function unmatchedRequirement(selector: LabelSelector, labels: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return `${key}=${value}`;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    if (!requirementMatches(requirement, labels)) return formatRequirement(requirement);
  }
  return undefined;
}

export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  return unmatchedRequirement(selector, labels) === undefined;
}

/** kubectl's text form: `app=web,tier in (api,web),!canary`. */
export function formatSelector(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  return [...labels, ...(selector.matchExpressions ?? []).map(formatRequirement)].join(',');
}

function requirementMatches({ key, operator, values = [] }: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, key);
  switch (operator) {
    case 'In':
      return has && values.includes(labels[key]!);
    case 'NotIn':
      return !has || !values.includes(labels[key]!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

function formatRequirement({ key, operator, values = [] }: Requirement): string {
  const list = `(${[...values].sort().join(',')})`;
  switch (operator) {
    case 'In':
      return `${key} in ${list}`;
    case 'NotIn':
      return `${key} notin ${list}`;
    case 'Exists':
      return key;
    case 'DoesNotExist':
      return `!${key}`;
  }
}
