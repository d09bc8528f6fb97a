// kubectl's resource names, short names and API paths for the kinds the lab serves, and the table
// each prints as: the one place `get`, `delete` and `describe` look them up.
import type { Deployment, Endpoints, Event, Namespace, Node, Pod, Service } from '../api/types.js';
import type { StoredObject } from '../agent/store.js';
import { deploymentsTable, endpointsTable, eventsTable, namespacesTable, nodesTable, podsTable, servicesTable } from './objects.js';

export interface Resource {
  kind: StoredObject['kind'];
  plural: string;
  /** `deployment.apps` in messages, as kubectl names it. */
  qualified: string;
  namespaced: boolean;
  group: string;
  table(items: StoredObject[], options: { wide: boolean; allNamespaces: boolean }): string;
}

const TABLE: [names: string[], resource: Resource][] = [
  [['pods', 'pod', 'po'], { kind: 'Pod', plural: 'pods', qualified: 'pod', namespaced: true, group: '/api/v1', table: (i, o) => podsTable(i as Pod[], o) }],
  [['nodes', 'node', 'no'], { kind: 'Node', plural: 'nodes', qualified: 'node', namespaced: false, group: '/api/v1', table: (i, o) => nodesTable(i as Node[], o) }],
  [['namespaces', 'namespace', 'ns'], { kind: 'Namespace', plural: 'namespaces', qualified: 'namespace', namespaced: false, group: '/api/v1', table: (i) => namespacesTable(i as Namespace[]) }],
  [['deployments', 'deployment', 'deploy'], { kind: 'Deployment', plural: 'deployments', qualified: 'deployment.apps', namespaced: true, group: '/apis/apps/v1', table: (i, o) => deploymentsTable(i as Deployment[], o) }],
  [['services', 'service', 'svc'], { kind: 'Service', plural: 'services', qualified: 'service', namespaced: true, group: '/api/v1', table: (i, o) => servicesTable(i as Service[], o) }],
  [['events', 'event', 'ev'], { kind: 'Event', plural: 'events', qualified: 'event', namespaced: true, group: '/api/v1', table: (i, o) => eventsTable(i as Event[], o) }],
  [['endpoints', 'endpoint', 'ep'], { kind: 'Endpoints', plural: 'endpoints', qualified: 'endpoints', namespaced: true, group: '/api/v1', table: (i, o) => endpointsTable(i as Endpoints[], o) }],
];

const BY_NAME = new Map(TABLE.flatMap(([names, r]) => names.map((n) => [n, r] as const)));

export function findResource(name: string): Resource | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export const RESOURCE_NAMES = TABLE.map(([names]) => names[0]).join(', ');

/** The API path of a list (namespace undefined: all namespaces) or of one object. */
export function resourcePath(r: Resource, namespace: string | undefined, name?: string): string {
  const base = r.namespaced && namespace ? `${r.group}/namespaces/${namespace}/${r.plural}` : `${r.group}/${r.plural}`;
  return name ? `${base}/${name}` : base;
}

/** How kubectl's NotFound message names a resource: `pods`, `deployments.apps`, `endpoints`. */
export function notFoundMessage(r: Resource, name: string): string {
  return `Error from server (NotFound): ${r.group.startsWith('/apis/') ? `${r.plural}.${r.group.split('/')[2]}` : r.plural} "${name}" not found`;
}
