// The agent: one process per lab that owns its state, as the single `k3s` process owns a real
// node. It keeps the objects, runs the controllers (Deployments, Endpoints, readiness) and
// kube-proxy after every change, and saves its state so a restarted agent brings back the same
// pods with the same IPs. Changes are level-triggered: whatever happened, `reconcile` compares
// what is wanted with what is and acts on the difference.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LabConfig } from '../config/types.js';
import type { Deployment, Endpoints, List, Manifest, Namespace, Pod, Service } from '../api/types.js';
import type { PodIPState } from '../ipam/pod-ips.js';
import { listNetns } from '../kernel/ip.js';
import { ApiError, notFound } from './api.js';
import { applyManifest, namespaceObject, type ApplyResult } from './apply.js';
import { Cluster, type Log } from './cluster.js';
import { EndpointCandidates, endpointsFor } from './controllers/endpoints.js';
import { ownedBy, planDeployment } from './controllers/deployments.js';
import { hasReadinessProbe } from './controllers/pod-state.js';
import { KubeProxy } from './kube-proxy/index.js';
import { withReadiness } from './objects.js';
import { ReadinessProber } from './probes.js';
import { EventRecorder } from './events.js';
import { proxySyncPeriodMs } from '../config/kube-proxy-args.js';
import { sweepTraceRules } from '../trace/rules.js';
import { ensureBuiltins } from './builtins.js';
import { DnsMetrics } from '../dns/server.js';
import type { DnsView } from '../dns/records.js';
import type { LabPlan, NodePlan } from '../dataplane/plan.js';
import { podKey } from './sandboxes.js';
import { ServiceAllocations, type ServiceAllocationState } from './services.js';
import { Store, type StoreSnapshot, type StoredObject } from './store.js';
import type { LabPaths } from './paths.js';

export type { ApplyAction, ApplyResult } from './apply.js';

const BUILT_IN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const UNDELETABLE_NAMESPACES = ['default', 'kube-system', 'kube-public'];

interface SavedState {
  store: StoreSnapshot;
  ipam: Record<string, PodIPState>;
  plan?: LabPlan;
  services?: ServiceAllocationState;
}

export class Agent {
  readonly store = new Store();
  readonly cluster: Cluster;
  readonly proxy: KubeProxy;
  private readonly events: EventRecorder;
  private readonly prober: ReadinessProber;
  private services: ServiceAllocations | undefined;
  private readonly savedServices: ServiceAllocationState | undefined;
  private labConfig: LabConfig | undefined;
  readonly startedAt = new Date();
  private readonly dnsMetrics = new DnsMetrics();
  private cachedView: { version: string; view: DnsView } | undefined;

  constructor(
    readonly lab: string,
    private readonly paths: LabPaths,
    private readonly log: Log,
  ) {
    const saved = readSaved(paths.state);
    if (saved) this.store.restore({ ...saved.store, objects: saved.store.objects.filter((o) => o.kind !== 'Node') });
    this.savedServices = saved?.services;
    this.prober = new ReadinessProber((key, ready) => void this.readinessChanged(key, ready));
    const hooks = {
      started: (pod: Pod, node: NodePlan) => {
        if (hasReadinessProbe(pod)) this.prober.start(podKey(pod), pod, node.netns);
      },
      stopped: (key: string) => this.prober.stop(key),
    };
    const environment = {
      dnsConfig: () => this.labConfig,
      dnsServing: { view: () => this.dnsView(), metrics: this.dnsMetrics },
    };
    this.cluster = new Cluster(lab, this.store, log, saved?.ipam ?? {}, hooks, environment, saved?.plan);
    this.events = new EventRecorder(this.store, () => this.labConfig?.clusterDomain ?? 'cluster.local');
    this.events.attach();
    this.proxy = new KubeProxy(this.store, () => this.cluster.config, (node) => this.cluster.nodeEpoch(node), log, (sync, tool) =>
      this.events.record({
        involved: { kind: 'Node', name: sync.node },
        reason: 'Synced',
        message: `${tool}: ${sync.partial ? 'partial' : 'full'} sync, ${sync.lines} lines in ${sync.ms} ms`,
        component: 'kube-proxy',
        host: sync.node,
      }),
    );
    for (const name of BUILT_IN_NAMESPACES) {
      if (!this.store.get('Namespace', undefined, name)) this.store.put(namespaceObject(name));
    }
  }

  async start(config: LabConfig): Promise<void> {
    await this.reconfigure(config);
    // Trace rules carry an expiry: a trace cut short (the agent killed mid-way) leaves none for long.
    const nodes = () => this.status().nodes;
    await sweepTraceRules(nodes(), { all: true });
    setInterval(() => void sweepTraceRules(nodes()).catch(() => undefined), 10_000).unref();
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
    return this.getObject(object.kind, object.kind === 'Namespace' ? undefined : (object.metadata.namespace ?? 'default'), object.metadata.name);
  }

  /** Create-or-update for a list of objects, in order; then one reconcile for all of them. */
  apply(items: Manifest[]): Promise<ApplyResult[]> {
    return this.cluster.serial(async () => {
      const results = items.map((item) => applyManifest(this.store, this.services!, item));
      await this.reconcileAndSave();
      return results.map((r) => (r.kind === 'Pod' && !r.error ? { ...r, ...this.placement(r.namespace!, r.name) } : r));
    });
  }

  /** Where an applied pod ended up, so that `up` can say how to reach it. */
  private placement(namespace: string, name: string): Pick<ApplyResult, 'phase' | 'nodeName' | 'podIP'> {
    const pod = this.store.get<Pod>('Pod', namespace, name);
    return { phase: pod?.status?.phase, nodeName: pod?.spec.nodeName, podIP: pod?.status?.podIP };
  }

  deletePod(namespace: string, name: string): Promise<Pod> {
    return this.cluster.serial(async () => {
      const pod = this.store.get<Pod>('Pod', namespace, name);
      if (!pod) throw notFound('pods', name);
      // As in Kubernetes, a terminating pod leaves its Services' endpoints (and so every node's
      // rules) first, and only then stops: new connections no longer reach it while it goes.
      const terminating = this.store.put<Pod>({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } });
      await this.syncServices();
      await this.cluster.deletePods([terminating]);
      // Its replacement, if a Deployment owns it, is made afterwards.
      await this.reconcileAndSave();
      return pod;
    });
  }

  deleteDeployment(namespace: string, name: string): Promise<Deployment> {
    return this.cluster.serial(async () => {
      const deployment = this.store.get<Deployment>('Deployment', namespace, name);
      if (!deployment) throw notFound('deployments.apps', name);
      this.store.delete(deployment);
      // Cascading deletion: the Deployment's pods go with it.
      await this.cluster.deletePods(this.store.list<Pod>('Pod', namespace).filter((p) => ownedBy(deployment, p)));
      await this.reconcileAndSave();
      return deployment;
    });
  }

  deleteService(namespace: string, name: string): Promise<Service> {
    return this.cluster.serial(async () => {
      const service = this.store.get<Service>('Service', namespace, name);
      if (!service) throw notFound('services', name);
      if (namespace === 'default' && name === 'kubernetes') throw new ApiError(403, 'Forbidden', 'services "kubernetes" is forbidden: the apiserver\'s own Service may not be deleted');
      this.services!.release(service);
      this.store.delete(service);
      const endpoints = this.store.get<Endpoints>('Endpoints', namespace, name);
      if (endpoints) this.store.delete(endpoints);
      await this.reconcileAndSave();
      return service;
    });
  }

  deleteNamespace(name: string): Promise<Namespace> {
    return this.cluster.serial(async () => {
      const ns = this.store.get<Namespace>('Namespace', undefined, name);
      if (!ns) throw notFound('namespaces', name);
      if (UNDELETABLE_NAMESPACES.includes(name)) throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`);
      for (const kind of ['Deployment', 'Service', 'Endpoints'] as const) {
        for (const o of this.store.list(kind, name)) {
          if (o.kind === 'Service') this.services!.release(o);
          this.store.delete(o);
        }
      }
      await this.cluster.deletePods(this.store.list<Pod>('Pod', name));
      this.store.delete(ns);
      await this.reconcileAndSave();
      return ns;
    });
  }

  reconfigure(config: LabConfig): Promise<{ changes: string[] }> {
    return this.cluster.serial(async () => {
      try {
        if (this.services) this.services.reconfigure(config);
        else this.services = new ServiceAllocations(config, this.savedServices);
        // Set first: pods started while the nodes are built get their resolv.conf from it.
        const dnsMoved = this.labConfig && (this.labConfig.clusterDNS !== config.clusterDNS || this.labConfig.clusterDomain !== config.clusterDomain);
        this.labConfig = config;
        if (dnsMoved) this.cluster.sandboxes.rewriteEtc();
        const changes = await this.cluster.applyConfig(config);
        changes.push(...this.proxy.configure({ mode: config.proxyMode, serviceCIDR: config.serviceCIDR, syncEveryMs: proxySyncPeriodMs(config.kubeProxyArgs) }));
        const servers = (this.cluster.config?.nodes ?? []).filter((n) => n.role === 'server').map((n) => n.ip);
        ensureBuiltins(this.store, this.services!, config, servers);
        writeFileSync(this.paths.config, JSON.stringify(config, null, 2));
        await this.reconcile();
        return { changes };
      } finally {
        this.save();
      }
    });
  }

  /** Controllers, in dependency order: Deployments make pods, pods get sandboxes, Endpoints follow the pods, kube-proxy follows the Endpoints. */
  private async reconcile(): Promise<void> {
    for (const deployment of this.store.list<Deployment>('Deployment')) {
      const plan = planDeployment(deployment, this.store.list<Pod>('Pod', deployment.metadata.namespace));
      for (const pod of plan.create) this.store.put(pod);
      if (plan.remove.length) await this.cluster.deletePods(plan.remove);
    }
    await this.cluster.startPendingPods();
    for (const deployment of this.store.list<Deployment>('Deployment')) {
      const { status } = planDeployment(deployment, this.store.list<Pod>('Pod', deployment.metadata.namespace));
      if (JSON.stringify(status) !== JSON.stringify(deployment.status)) this.store.put({ ...deployment, status });
    }
    await this.syncServices();
  }

  /** Endpoints from the pods as they are now, then kube-proxy from the Endpoints. */
  private async syncServices(): Promise<void> {
    const candidates = new EndpointCandidates(this.store.list<Pod>('Pod'));
    for (const service of this.store.list<Service>('Service')) {
      const endpoints = endpointsFor(service, candidates);
      const current = this.store.get<Endpoints>('Endpoints', service.metadata.namespace, service.metadata.name);
      if (endpoints && (!current || JSON.stringify(endpoints.subsets) !== JSON.stringify(current.subsets))) this.store.put(endpoints);
    }
    await this.proxy.sync();
  }

  private async reconcileAndSave(): Promise<void> {
    try {
      await this.reconcile();
    } finally {
      this.save();
    }
  }

  private readinessChanged(key: string, ready: boolean): Promise<void> {
    return this.cluster.serial(async () => {
      const [namespace, name] = key.split('/');
      const pod = this.store.get<Pod>('Pod', namespace, name!);
      if (!pod || pod.status?.phase !== 'Running') return;
      this.store.put(withReadiness(pod, ready));
      this.log(`pod ${key} is ${ready ? 'ready' : 'not ready'} (readiness probe)`);
      await this.reconcileAndSave();
    });
  }

  /** What the DNS pod answers from: the objects as they are now (recomputed only when they change). */
  private dnsView(): DnsView {
    const version = this.store.resourceVersion;
    if (this.cachedView?.version !== version) {
      const view = {
        domain: this.labConfig?.clusterDomain ?? 'cluster.local',
        services: this.store.list<Service>('Service'),
        endpoints: this.store.list<Endpoints>('Endpoints'),
        pods: this.store.list<Pod>('Pod'),
        namespaces: this.store.list<Namespace>('Namespace'),
      };
      this.cachedView = { version, view };
    }
    return this.cachedView.view;
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
    problems.push(...this.proxy.problems());
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
        deployments: this.store.list('Deployment').length,
        services: this.store.list('Service').length,
      },
      proxy: this.proxy.summary(),
      problems,
    };
  }

  /** `down`: tears the lab down completely, then the process exits. */
  shutdown(): Promise<{ ok: true }> {
    return this.cluster.serial(async () => {
      this.prober.stopAll();
      this.proxy.stopLoops();
      await this.cluster.destroy();
      this.log('lab torn down; exiting');
      setImmediate(() => process.exit(0));
      return { ok: true as const };
    });
  }

  private save(): void {
    const snapshot = this.store.snapshot();
    // Events are the agent's log of the moment, not state to restore.
    const objects = snapshot.objects.filter((o) => o.kind !== 'Event');
    const state: SavedState = { store: { ...snapshot, objects }, ipam: this.cluster.ipamState(), plan: this.cluster.config, services: this.services?.state };
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
