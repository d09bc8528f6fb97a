// Turns one parsed YAML document into the manifests the lab handles. The kinds the lab understands
// are registered here, one validator each; a `kind: List` contributes its items; any other kind is
// skipped with a warning, so a real application's manifests apply as they are, ConfigMaps and all.
import type { Manifest } from '../api/types.js';
import { isMapping } from './decode.js';
import { validateDeployment } from './deployment.js';
import { validateNamespace } from './namespace.js';
import { validatePod } from './pod.js';
import type { Reporter, SourceLocation } from './report.js';
import { validateService } from './service.js';
import { KNOWN_KINDS, OBJECT_FIELDS, checkFieldNames, closestMatch } from './vocabulary.js';

type KindValidator = (object: Record<string, unknown>, report: Reporter) => Manifest | undefined;

const HANDLED_KINDS = new Map<string, { apiVersion: string; validate: KindValidator }>([
  ['Pod', { apiVersion: 'v1', validate: validatePod }],
  ['Namespace', { apiVersion: 'v1', validate: validateNamespace }],
  ['Deployment', { apiVersion: 'apps/v1', validate: validateDeployment }],
  ['Service', { apiVersion: 'v1', validate: validateService }],
]);

const HANDLED_LIST = (() => {
  const kinds = [...HANDLED_KINDS].map(([kind, { apiVersion }]) => `${apiVersion} ${kind}`);
  return `${kinds.slice(0, -1).join(', ')} and ${kinds[kinds.length - 1]}`;
})();

/**
 * Kinds the lab knows but does not apply: the agent computes a Service's endpoints from its
 * selector. `knetlab proxy render` reads these kinds with its own parser.
 */
const ENDPOINT_KINDS = ['Endpoints', 'EndpointSlice'];

/** A manifest and where it was defined. */
export interface LocatedManifest {
  object: Manifest;
  location: SourceLocation;
}

/** Validates one document (or List item); every problem goes to `report`. */
export function validateDocument(value: unknown, report: Reporter): LocatedManifest[] {
  if (value === null || value === undefined) return []; // an empty document
  if (!isMapping(value)) {
    report.error([], `expected a Kubernetes object, found ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`, 'write a mapping with apiVersion, kind, metadata and spec');
    return [];
  }
  const { apiVersion, kind } = value;
  const kindOk = checkTypeField(value, 'kind', 'kind: Pod', report);
  const expectedVersion = typeof kind === 'string' ? (HANDLED_KINDS.get(kind)?.apiVersion ?? 'v1') : 'v1';
  const versionOk = checkTypeField(value, 'apiVersion', `apiVersion: ${expectedVersion}`, report);
  if (!kindOk || !versionOk) return [];
  const kindName = kind as string;

  if (kindName === 'List' || (kindName.endsWith('List') && 'items' in value)) return validateListItems(value.items, report);

  const handler = HANDLED_KINDS.get(kindName);
  if (!handler) {
    reportUnhandledKind(kindName, apiVersion as string, value.metadata, report);
    return [];
  }
  const errorsBefore = report.errorCount;
  if (apiVersion !== handler.apiVersion) {
    report.error(['apiVersion'], `${kindName} belongs to apiVersion ${handler.apiVersion}, not ${JSON.stringify(apiVersion)}`, `write \`apiVersion: ${handler.apiVersion}\``);
  }
  checkFieldNames(value, [], OBJECT_FIELDS, `a ${kindName}`, report, { exhaustive: true });
  const object = handler.validate(value, report);
  return object && report.errorCount === errorsBefore ? [{ object, location: report.location() }] : [];
}

function checkTypeField(object: Record<string, unknown>, field: 'kind' | 'apiVersion', example: string, report: Reporter): boolean {
  const value = object[field];
  if (value === undefined || value === null) {
    report.error([], `${field} is missing; every Kubernetes object needs apiVersion and kind`, `add it, e.g. \`${example}\``);
    return false;
  }
  if (typeof value !== 'string' || value === '') {
    report.error([field], `${field} must be a non-empty string, not ${JSON.stringify(value)}`, `write it as a name, e.g. \`${example}\``);
    return false;
  }
  return true;
}

function validateListItems(items: unknown, report: Reporter): LocatedManifest[] {
  if (!Array.isArray(items)) {
    report.error(['items'], 'a List needs `items:`, a list of objects', 'put the objects under `items:`, each starting with "- "');
    return [];
  }
  return items.flatMap((item, i) => validateDocument(item, report.within(['items', i])));
}

function reportUnhandledKind(kind: string, apiVersion: string, metadata: unknown, report: Reporter): void {
  // A typo is only suspected for built-in API groups; custom resources may have any kind name.
  const builtIn = !apiVersion.includes('.') || apiVersion.includes('.k8s.io/');
  const guess = builtIn && !KNOWN_KINDS.includes(kind) ? closestMatch(kind, [...KNOWN_KINDS, ...HANDLED_KINDS.keys()]) : undefined;
  if (guess) {
    report.error(['kind'], `unknown kind ${JSON.stringify(kind)}`, `did you mean ${JSON.stringify(guess)}? (kinds are case-sensitive)`);
    return;
  }
  const name = isMapping(metadata) && typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
  if (ENDPOINT_KINDS.includes(kind)) {
    report.warn([], `${kind} ${name}: not applied by knetlab; skipped`, 'the lab computes the endpoints of each Service from its selector and the ready pods; `knetlab proxy render -f` reads Endpoints and EndpointSlices');
    return;
  }
  report.warn([], `${kind} ${name}: not handled by this version of knetlab; skipped`, `nothing to do if that is expected; this version handles ${HANDLED_LIST}`);
}
