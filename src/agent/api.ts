// The agent's API on its unix socket. It speaks Kubernetes: the same REST paths and objects as
// the apiserver (`/api/v1/namespaces/NS/pods/NAME`), with errors as `Status` objects, so that
// `get -o json` is a pass-through. Lab-only operations live under `/apis/knetlab.io/v1/`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LabConfig } from '../config/types.js';
import type { Manifest, Namespace, Pod } from '../api/types.js';
import { KnetlabError, UsageError } from '../errors.js';
import { agentLabView, traceInLab } from '../trace/view.js';
import type { TraceSpec } from '../trace/resolve.js';
import type { Agent } from './agent.js';
import type { StoredObject, WatchEventType } from './store.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (resource: string, name: string) => new ApiError(404, 'NotFound', `${resource} "${name}" not found`);

type Handler = (agent: Agent, params: string[], body: unknown) => Promise<unknown> | unknown;

const NS = '([a-z0-9-]+)';
const NAME = '([a-z0-9.-]+)';

/** Which objects a list route's `?watch=1` stream follows. */
type WatchScope = (params: string[]) => { kind: StoredObject['kind']; namespace?: string };
type Route = [method: string, path: RegExp, handler: Handler, watch?: WatchScope];

/** list (all namespaces and one), get and, where the lab allows it, delete for a namespaced resource. */
function namespaced(group: string, plural: string, kind: StoredObject['kind'], remove?: (a: Agent, ns: string, name: string) => Promise<unknown>): Route[] {
  const routes: Route[] = [
    ['GET', new RegExp(`^${group}/${plural}$`), (a) => a.list(kind), () => ({ kind })],
    ['GET', new RegExp(`^${group}/namespaces/${NS}/${plural}$`), (a, [ns]) => a.list(kind, ns), ([ns]) => ({ kind, namespace: ns })],
    ['GET', new RegExp(`^${group}/namespaces/${NS}/${plural}/${NAME}$`), (a, [ns, name]) => a.getObject(kind, ns, name!)],
  ];
  if (remove) routes.push(['DELETE', new RegExp(`^${group}/namespaces/${NS}/${plural}/${NAME}$`), (a, [ns, name]) => remove(a, ns!, name!)]);
  return routes;
}

const CORE = '/api/v1';
const APPS = '/apis/apps/v1';
const LAB = '/apis/knetlab\\.io/v1';

const routes: Route[] = [
  ['GET', /^\/readyz$/, () => ({ ok: true })],
  ['GET', /^\/api\/v1\/nodes$/, (a) => a.list('Node'), () => ({ kind: 'Node' })],
  ['GET', new RegExp(`^/api/v1/nodes/${NAME}$`), (a, [name]) => a.getObject('Node', undefined, name!)],
  ['GET', /^\/api\/v1\/namespaces$/, (a) => a.list('Namespace'), () => ({ kind: 'Namespace' })],
  ['GET', new RegExp(`^/api/v1/namespaces/${NS}$`), (a, [name]) => a.getObject('Namespace', undefined, name!)],
  ['POST', /^\/api\/v1\/namespaces$/, (a, _, body) => a.create(body as Namespace)],
  ['DELETE', new RegExp(`^/api/v1/namespaces/${NS}$`), (a, [name]) => a.deleteNamespace(name!)],
  ['POST', new RegExp(`^/api/v1/namespaces/${NS}/pods$`), (a, [ns], body) => a.create({ ...(body as Pod), metadata: { ...(body as Pod).metadata, namespace: ns } })],
  ...namespaced(CORE, 'pods', 'Pod', (a, ns, name) => a.deletePod(ns, name)),
  ...namespaced(CORE, 'services', 'Service', (a, ns, name) => a.deleteService(ns, name)),
  ...namespaced(CORE, 'endpoints', 'Endpoints'),
  ...namespaced(CORE, 'events', 'Event'),
  ...namespaced(APPS, 'deployments', 'Deployment', (a, ns, name) => a.deleteDeployment(ns, name)),
  ['POST', new RegExp(`^${LAB}/apply$`), (a, _, body) => a.apply((body as { items: Manifest[] }).items)],
  ['GET', new RegExp(`^${LAB}/status$`), (a) => a.status()],
  ['PUT', new RegExp(`^${LAB}/config$`), (a, _, body) => a.reconfigure(body as LabConfig)],
  ['POST', new RegExp(`^${LAB}/shutdown$`), (a) => a.shutdown()],
  ['POST', new RegExp(`^${LAB}/trace$`), (a, _, body) => traceInLab(agentLabView(a), body as TraceSpec)],
  ['POST', new RegExp(`^${LAB}/proxy/resync$`), (a) => a.proxy.forceFullSync().then(() => a.proxy.summary())],
];

export function createApiServer(agent: Agent): Server {
  return createServer((req, res) => {
    void handle(agent, req, res);
  });
}

async function handle(agent: Agent, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  const path = url.pathname;
  try {
    const route = routes.find(([method, re]) => method === req.method && re.test(path));
    if (!route) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${req.method} ${path})`);
    const params = route[1].exec(path)!.slice(1);
    const watch = route[3];
    if (watch && ['1', 'true'].includes(url.searchParams.get('watch') ?? '')) return streamChanges(agent, watch(params), res);
    const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJson(req);
    const result = await route[2](agent, params, body);
    send(res, 200, result ?? {});
  } catch (err) {
    const e =
      err instanceof ApiError
        ? err
        : err instanceof UsageError
          ? new ApiError(422, 'Invalid', err.hint ? `${err.message}\nhint: ${err.hint}` : err.message)
          : new ApiError(500, 'InternalError', err instanceof KnetlabError || err instanceof Error ? err.message : String(err));
    send(res, e.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.code });
  }
}

/** A watch, as the apiserver streams it: one JSON `{type, object}` per line, for as long as the client listens. */
function streamChanges(agent: Agent, scope: ReturnType<WatchScope>, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  const listener = (type: WatchEventType, object: StoredObject) => {
    if (object.kind === scope.kind && (scope.namespace === undefined || object.metadata.namespace === scope.namespace)) res.write(JSON.stringify({ type, object }) + '\n');
  };
  agent.store.on('change', listener);
  res.on('close', () => agent.store.off('change', listener));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new ApiError(400, 'BadRequest', 'request body is not valid JSON');
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
