// Label selectors, as Services (a plain map) and Deployments (matchLabels and matchExpressions)
// use them: the link between a Service or a Deployment and its pods is nothing but labels.
import type { LabelSelector } from '../../api/types.js';

export function matchesLabels(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function matchesSelector(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  if (!matchesLabels(selector.matchLabels ?? {}, labels)) return false;
  return (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]!);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]!);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
    }
  });
}
