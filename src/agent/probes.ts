// Readiness probes, run as kubelet runs them: an HTTP GET from the pod's node to the pod's IP,
// every periodSeconds, with the success and failure thresholds of the pod's spec. The probe's
// socket is made inside the node's namespace (tcpSocketIn), so the request is a real packet from
// the node to the pod, and no process is started per probe.
import { request } from 'node:http';
import type { Container, Pod } from '../api/types.js';
import { tcpSocketIn } from '../kernel/netns.js';

export type ReadinessListener = (podKey: string, ready: boolean) => void;

interface ProbeState {
  timer: NodeJS.Timeout | undefined;
  successes: number;
  failures: number;
  ready: boolean;
}

export class ReadinessProber {
  private readonly probes = new Map<string, ProbeState[]>();

  constructor(private readonly onChange: ReadinessListener) {}

  /** Starts probing every container of the pod that has an httpGet readiness probe. */
  start(key: string, pod: Pod, nodeNetns: string): void {
    this.stop(key);
    const podIP = pod.status?.podIP;
    if (!podIP) return;
    const states = pod.spec.containers.flatMap((c) => (c.readinessProbe?.httpGet ? [this.startOne(key, c, podIP, nodeNetns)] : []));
    this.probes.set(key, states);
  }

  stop(key: string): void {
    for (const s of this.probes.get(key) ?? []) clearTimeout(s.timer);
    this.probes.delete(key);
  }

  stopAll(): void {
    for (const key of [...this.probes.keys()]) this.stop(key);
  }

  private startOne(key: string, container: Container, podIP: string, nodeNetns: string): ProbeState {
    const probe = container.readinessProbe!;
    const get = probe.httpGet!;
    const port = typeof get.port === 'number' ? get.port : (container.ports?.find((p) => p.name === get.port)?.containerPort ?? Number(get.port));
    const state: ProbeState = { timer: undefined, successes: 0, failures: 0, ready: false };
    const tick = async () => {
      const ok = await httpProbe(nodeNetns, podIP, port, get.path ?? '/', (probe.timeoutSeconds ?? 1) * 1000);
      if (!this.probes.get(key)?.includes(state)) return; // stopped while the probe ran
      if (ok) {
        state.failures = 0;
        state.successes++;
      } else {
        state.successes = 0;
        state.failures++;
      }
      const was = this.podReady(key);
      if (!state.ready && state.successes >= (probe.successThreshold ?? 1)) state.ready = true;
      if (state.ready && state.failures >= (probe.failureThreshold ?? 3)) state.ready = false;
      const now = this.podReady(key);
      if (now !== was) this.onChange(key, now);
      state.timer = setTimeout(tick, (probe.periodSeconds ?? 10) * 1000);
    };
    state.timer = setTimeout(tick, (probe.initialDelaySeconds ?? 0) * 1000);
    return state;
  }

  private podReady(key: string): boolean {
    return (this.probes.get(key) ?? []).every((s) => s.ready);
  }
}

/** One HTTP GET from inside `netns`; success is a status from 200 to 399, as kubelet counts it. */
function httpProbe(netns: string, ip: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let socket;
    try {
      socket = tcpSocketIn(netns);
    } catch {
      return resolve(false);
    }
    const req = request({ host: ip, port, path, timeout: timeoutMs, headers: { 'User-Agent': 'kube-probe/1.33', Connection: 'close' }, createConnection: () => socket.connect(port, ip) }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
