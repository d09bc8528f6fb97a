// The agent: one process per lab that owns its state, as the single `k3s` process owns a real
// node. It keeps the objects, runs the reconciler and saves both to the lab's state file after
// every change, so a restarted agent brings back the same pods with the same IPs.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LabConfig } from '../config/types.js';
import type { List, Manifest, Namespace, Pod } from '../api/types.js';
import type { PodIPState } from '../ipam/pod-ips.js';
import { listNetns } from '../kernel/ip.js';
import { ApiError, notFound } from './api.js';
import { Cluster, type Log } from './cluster.js';
import { podKey } from './sandboxes.js';
import { Store, type StoreSnapshot, type StoredObject } from './store.js';
import type { LabPaths } from './paths.js';

const BUILT_IN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const UNDELETABLE_NAMESPACES = ['default', 'kube-system', 'kube-public'];

interface SavedState {
  store: StoreSnapshot;
  ipam: Record<string, PodIPState>;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';
export interface ApplyResult {
  kind: string;
  namespace?: string;
  name: string;
  action?: ApplyAction;
  error?: string;
  /** For pods: where it runs, once it does. */
  phase?: string;
  nodeName?: string;
  podIP?: string;
}

export class Agent {
  readonly store = new Store();
  readonly cluster: Cluster;
  private labConfig: LabConfig | undefined;
  readonly startedAt = new Date();

  constructor(
    readonly lab: string,
    private readonly paths: LabPaths,
    private readonly log: Log,
  ) {
    const saved = readSaved(paths.state);
    if (saved) this.store.restore({ ...saved.store, objects: saved.store.objects.filter((o) => o.kind !== 'Node') });
    this.cluster = new Cluster(lab, this.store, log, saved?.ipam ?? {});
    for (const name of BUILT_IN_NAMESPACES) {
      if (!this.store.get('Namespace', undefined, name)) this.store.put(namespaceObject(name));
    }
  }

  async start(config: LabConfig): Promise<void> {
    await this.reconfigure(config);
  }

  list(kind: StoredObject['kind'], namespace?: string): List<StoredObject> {
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: this.store.resourceVersion }, items: this.store.list(kind, namespace) };
  }

  getObject(kind: StoredObject['kind'], namespace: string | undefined, name: string): StoredObject {
    const o = this.store.get(kind, namespace, name);
    if (!o) throw notFound(`${kind.toLowerCase()}s`, name);
    return o;
  }

  async create(object: Manifest): Promise<StoredObject> {
    const [result] = await this.apply([object]);
    if (result?.error) throw new ApiError(result.error.includes('not found') ? 404 : 422, 'Invalid', result.error);
    if (result?.action !== 'created') throw new ApiError(409, 'AlreadyExists', `${object.kind.toLowerCase()}s "${object.metadata.name}" already exists`);
    return this.getObject(object.kind, object.kind === 'Pod' ? object.metadata.namespace : undefined, object.metadata.name);
  }

  /** Create-or-update for a list of objects, in order; one kernel pass for all new pods. */
  apply(items: Manifest[]): Promise<ApplyResult[]> {
    return this.cluster.serial(async () => {
      const results = items.map((item) => this.applyOne(item));
      try {
        await this.cluster.startPendingPods();
      } finally {
        this.save();
      }
      return results.map((r) => (r.kind === 'Pod' && !r.error ? { ...r, ...this.placement(r.namespace!, r.name) } : r));
    });
  }

  /** Where an applied pod ended up, so that `up` can say how to reach it. */
  private placement(namespace: string, name: string): Pick<ApplyResult, 'phase' | 'nodeName' | 'podIP'> {
    const pod = this.store.get<Pod>('Pod', namespace, name);
    return { phase: pod?.status?.phase, nodeName: pod?.spec.nodeName, podIP: pod?.status?.podIP };
  }

  private applyOne(item: Manifest): ApplyResult {
    const { name } = item.metadata;
    if (item.kind === 'Namespace') {
      const existing = this.store.get<Namespace>('Namespace', undefined, name);
      if (existing && sameLabels(existing, item)) return { kind: 'Namespace', name, action: 'unchanged' };
      this.store.put({ ...namespaceObject(name), ...existing, metadata: { ...existing?.metadata, ...item.metadata } });
      return { kind: 'Namespace', name, action: existing ? 'configured' : 'created' };
    }
    const namespace = item.metadata.namespace ?? 'default';
    const result: ApplyResult = { kind: 'Pod', namespace, name };
    if (!this.store.get('Namespace', undefined, namespace)) return { ...result, error: `namespaces "${namespace}" not found` };
    const existing = this.store.get<Pod>('Pod', namespace, name);
    if (!existing) {
      this.store.put<Pod>({ apiVersion: 'v1', kind: 'Pod', metadata: { ...item.metadata, namespace }, spec: item.spec, status: { phase: 'Pending' } });
      return { ...result, action: 'created' };
    }
    if (!sameSpec(existing, item)) {
      return { ...result, error: `Pod "${name}" is invalid: spec: Forbidden: pod updates may not change fields other than labels and annotations; delete the pod and apply it again` };
    }
    if (sameLabels(existing, item)) return { ...result, action: 'unchanged' };
    this.store.put<Pod>({ ...existing, metadata: { ...existing.metadata, labels: item.metadata.labels, annotations: item.metadata.annotations } });
    return { ...result, action: 'configured' };
  }

  deletePod(namespace: string, name: string): Promise<Pod> {
    return this.cluster.serial(async () => {
      const pod = this.store.get<Pod>('Pod', namespace, name);
      if (!pod) throw notFound('pods', name);
      await this.cluster.deletePods([pod]);
      this.save();
      return pod;
    });
  }

  deleteNamespace(name: string): Promise<Namespace> {
    return this.cluster.serial(async () => {
      const ns = this.store.get<Namespace>('Namespace', undefined, name);
      if (!ns) throw notFound('namespaces', name);
      if (UNDELETABLE_NAMESPACES.includes(name)) throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`);
      await this.cluster.deletePods(this.store.list<Pod>('Pod', name));
      this.store.delete(ns);
      this.save();
      return ns;
    });
  }

  reconfigure(config: LabConfig): Promise<{ changes: string[] }> {
    return this.cluster.serial(async () => {
      try {
        const changes = await this.cluster.applyConfig(config);
        this.labConfig = config;
        writeFileSync(this.paths.config, JSON.stringify(config, null, 2));
        return { changes };
      } finally {
        this.save();
      }
    });
  }

  status() {
    const plan = this.cluster.config;
    const pods = this.store.list<Pod>('Pod');
    const present = new Set(listNetns());
    const problems: string[] = [];
    for (const n of plan?.nodes ?? []) if (!present.has(n.netns)) problems.push(`node ${n.name}: namespace ${n.netns} is missing`);
    for (const p of pods) {
      const sandbox = this.cluster.sandboxes.get(podKey(p));
      if (!sandbox) problems.push(`pod ${podKey(p)} is ${p.status?.phase ?? 'Pending'}: ${p.status?.message ?? p.status?.conditions?.[0]?.message ?? 'not started'}`);
      else if (!present.has(sandbox.wiring.netns)) problems.push(`pod ${podKey(p)}: namespace ${sandbox.wiring.netns} is missing`);
    }
    return {
      lab: this.lab,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      config: this.labConfig,
      lan: plan?.lan,
      nodes: (plan?.nodes ?? []).map((n) => ({ name: n.name, role: n.role, ip: n.ip, podCIDR: n.podCIDR, netns: n.netns, pods: this.cluster.sandboxes.countOn(n.name) })),
      counts: {
        namespaces: this.store.list('Namespace').length,
        pods: pods.length,
        running: pods.filter((p) => p.status?.phase === 'Running').length,
      },
      problems,
    };
  }

  /** `down`: tears the lab down completely, then the process exits. */
  shutdown(): Promise<{ ok: true }> {
    return this.cluster.serial(async () => {
      await this.cluster.destroy();
      this.log('lab torn down; exiting');
      setImmediate(() => process.exit(0));
      return { ok: true as const };
    });
  }

  private save(): void {
    const state: SavedState = { store: this.store.snapshot(), ipam: this.cluster.ipamState() };
    writeFileSync(this.paths.state + '.tmp', JSON.stringify(state));
    renameSync(this.paths.state + '.tmp', this.paths.state);
  }
}

function readSaved(path: string): SavedState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SavedState;
  } catch {
    return undefined;
  }
}

function namespaceObject(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, status: { phase: 'Active' } };
}

function sameLabels(a: { metadata: { labels?: unknown; annotations?: unknown } }, b: { metadata: { labels?: unknown; annotations?: unknown } }): boolean {
  return JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {}) && JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {});
}

function sameSpec(stored: Pod, applied: Pod): boolean {
  const { nodeName: placed, ...storedRest } = stored.spec;
  const { nodeName: wanted, ...appliedRest } = applied.spec;
  return JSON.stringify(storedRest) === JSON.stringify(appliedRest) && (!wanted || wanted === placed);
}
