// Builders for the objects the agent itself writes: Node objects from the plan, and the status a
// pod gets as it is scheduled and started, shaped as the kubelet reports them.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { Node, Pod, PodCondition } from '../api/types.js';
import type { NodePlan } from '../dataplane/plan.js';
import { ARCH } from '../dataplane/plan.js';

export const KUBE_VERSION = 'v1.33.0+knetlab';

/** Nodes are namespaces of this host, so they run the host's OS, as kubelet reports it from os-release. */
const OS_IMAGE = (() => {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
})();

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function nodeObject(node: NodePlan): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: node.labels, annotations: { 'flannel.alpha.coreos.com/backend-type': 'host-gw', 'flannel.alpha.coreos.com/public-ip': node.ip } },
    spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] },
    status: {
      addresses: [
        { type: 'InternalIP', address: node.ip },
        { type: 'Hostname', address: node.name },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: now() }],
      nodeInfo: {
        kubeletVersion: KUBE_VERSION,
        kubeProxyVersion: KUBE_VERSION,
        kernelVersion: release(),
        osImage: OS_IMAGE,
        operatingSystem: 'linux',
        architecture: ARCH,
        containerRuntimeVersion: 'knetlab://0.1.0',
      },
    },
  };
}

export function pendingPod(pod: Pod, reason: string, message: string): Pod {
  return {
    ...pod,
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason, message, lastTransitionTime: now() }],
    },
  };
}

/** A pod whose sandbox runs; without a readiness probe it is ready at once, with one, when the probe says so. */
export function runningPod(pod: Pod, node: NodePlan, ip: string, ready: boolean): Pod {
  const t = now();
  const condition = (type: PodCondition['type'], status = true): PodCondition => ({ type, status: status ? 'True' : 'False', lastTransitionTime: t });
  return {
    ...pod,
    spec: { ...pod.spec, nodeName: node.name },
    status: {
      phase: 'Running',
      conditions: [condition('Initialized'), condition('Ready', ready), condition('ContainersReady', ready), condition('PodScheduled')],
      hostIP: node.ip,
      hostIPs: [{ ip: node.ip }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: t,
      containerStatuses: pod.spec.containers.map((c) => ({
        name: c.name,
        ready,
        restartCount: 0,
        image: c.image,
        started: true,
        state: { running: { startedAt: t } },
      })),
    },
  };
}

/** A pod whose sandbox could not be made (e.g. a port the kernel refused); it is not retried. */
export function failedPod(pod: Pod, node: NodePlan, message: string): Pod {
  return {
    ...pod,
    spec: { ...pod.spec, nodeName: node.name },
    status: { phase: 'Failed', reason: 'SandboxFailed', message, hostIP: node.ip, hostIPs: [{ ip: node.ip }] },
  };
}

/** The pod with its Ready and ContainersReady conditions (and containers) set as the probe found them. */
export function withReadiness(pod: Pod, ready: boolean): Pod {
  const t = now();
  const status = ready ? 'True' : 'False';
  return {
    ...pod,
    status: {
      ...pod.status!,
      conditions: pod.status?.conditions?.map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status, lastTransitionTime: t } : c)),
      containerStatuses: pod.status?.containerStatuses?.map((c) => ({ ...c, ready })),
    },
  };
}
