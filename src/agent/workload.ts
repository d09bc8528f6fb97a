// What every pod serves. A real cluster runs a container per pod; the lab has one agent process
// that opens each pod's sockets inside the pod's network namespace and answers on them itself,
// following the agnhost `netexec` conventions that Kubernetes' own network e2e tests use. Pods are
// many and their answers identical, so the request handlers are shared and a pod costs little
// more than its sockets.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { serveDnsTcp, serveDnsUdp, type DnsMetrics, type ViewSource } from '../dns/server.js';
import { KnetlabError } from '../errors.js';
import { inNetns } from '../kernel/netns.js';

export interface PodIdentity {
  name: string;
  namespace: string;
  /**
   * What /healthz reports: 200 while true, 503 while false. Students flip it from inside the pod
   * with `curl -X POST localhost:PORT/healthz/fail` (and `/healthz/pass`), and a readiness probe
   * on /healthz then takes the pod out of its Services' endpoints.
   */
  healthy: boolean;
  /**
   * Set for the cluster DNS pod (CoreDNS's place): port 53 answers DNS over UDP and TCP from this
   * view of the cluster, and HTTP answers CoreDNS's /metrics, /ready and /health.
   */
  dns?: { view: ViewSource; metrics: DnsMetrics };
}

/** The DNS port: on the DNS pod it speaks DNS instead of netexec. */
const DNS_PORT = 53;

export interface ServedPort {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
}

type Endpoint = http.Server | net.Server | dgram.Socket;

// The shared handlers find their pod from the server or socket they were called on.
const podServedBy = new WeakMap<Endpoint, PodIdentity>();
// DNS over TCP runs on a plain net.Server, which (unlike http.Server) does not track its connections.
const dnsConnections = new WeakMap<net.Server, Set<net.Socket>>();

export class PodWorkload {
  private closing: Promise<void> | undefined;

  private constructor(private readonly endpoints: Endpoint[]) {}

  /**
   * Opens every port inside the pod's namespace, synchronously, and starts answering. Throws a
   * KnetlabError naming the pod and the port when one cannot be bound, having closed the others.
   */
  static start(netns: string, pod: PodIdentity, ports: ServedPort[]): PodWorkload {
    checkPorts(pod, ports);
    const endpoints: Endpoint[] = [];
    try {
      inNetns(netns, () => {
        for (const port of ports) openEndpoint(pod, port, endpoints);
      });
    } catch (error) {
      void closeEndpoints(endpoints);
      throw error;
    }
    return new PodWorkload(endpoints);
  }

  /** Closes every socket and drops open connections, so the namespace can be deleted right after. */
  close(): Promise<void> {
    this.closing ??= closeEndpoints(this.endpoints);
    return this.closing;
  }
}

function checkPorts(pod: PodIdentity, ports: ServedPort[]): void {
  const seen = new Set<string>();
  for (const { containerPort, protocol } of ports) {
    const key = `${protocol}/${containerPort}`;
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) {
      throw new KnetlabError(`pod ${podName(pod)}: containerPort ${containerPort} is not a port number (1-65535)`);
    }
    if (seen.has(key)) throw new KnetlabError(`pod ${podName(pod)}: ${protocol} port ${containerPort} is listed twice`);
    seen.add(key);
  }
}

// Runs inside the pod's namespace: every socket must be created before this returns. The endpoint
// is recorded before binding so that a failed one is closed along with the rest.
function openEndpoint(pod: PodIdentity, { containerPort, protocol }: ServedPort, endpoints: Endpoint[]): void {
  if (pod.dns && containerPort === DNS_PORT && protocol === 'TCP') {
    const server = net.createServer();
    const open = new Set<net.Socket>();
    server.on('connection', (c) => {
      open.add(c);
      c.on('close', () => open.delete(c));
    });
    dnsConnections.set(server, open);
    serveDnsTcp(server, pod.dns.view, pod.dns.metrics);
    server.on('error', ignoreEndpointError);
    endpoints.push(server);
    server.listen(containerPort);
    if (!server.listening) throw bindFailed(pod, protocol, containerPort, 'it is probably in use in the pod');
  } else if (protocol === 'TCP') {
    const server = http.createServer(answerHttp);
    podServedBy.set(server, pod);
    server.on('error', ignoreEndpointError);
    endpoints.push(server);
    // No host: a host, even a literal IP, would go through an asynchronous dns.lookup and the
    // socket would be created after we have left the namespace. Without one, Node binds `::`
    // (dual stack) or falls back to 0.0.0.0, synchronously. A failure is only emitted on the next
    // tick, so success is read from `listening`.
    server.listen(containerPort);
    if (!server.listening) throw bindFailed(pod, protocol, containerPort, 'it is probably in use in the pod');
  } else {
    const socket = dgram.createSocket({ type: 'udp4', lookup: literalAddressLookup });
    podServedBy.set(socket, pod);
    endpoints.push(socket);
    // With a synchronous lookup, bind() creates the socket and reports a failure synchronously.
    let bindError: Error | undefined;
    const recordBindError = (error: Error) => (bindError = error);
    socket.on('error', recordBindError);
    socket.bind(containerPort, '0.0.0.0');
    socket.off('error', recordBindError);
    if (bindError) throw bindFailed(pod, protocol, containerPort, bindError.message, bindError);
    socket.on('error', ignoreEndpointError);
    if (pod.dns && containerPort === DNS_PORT) serveDnsUdp(socket, pod.dns.view, pod.dns.metrics);
    else socket.on('message', answerDatagram);
  }
}

// dgram resolves even literal addresses through `lookup`, asynchronously by default. Node 20 calls
// it as lookup(address, 4, callback) (the types say an options object); only literals reach it.
function literalAddressLookup(
  address: string,
  _family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, 4);
}

function bindFailed(pod: PodIdentity, protocol: string, port: number, why: string, cause?: Error): KnetlabError {
  return new KnetlabError(`pod ${podName(pod)}: cannot listen on ${protocol} port ${port}: ${why}`, { cause });
}

// A pod that cannot answer one client (a reset connection, an unreachable sender) must not take
// the agent down; the client sees the failure.
function ignoreEndpointError(): void {}

function answerHttp(this: http.Server, request: http.IncomingMessage, response: http.ServerResponse): void {
  const pod = podServedBy.get(this);
  if (!pod) return void response.destroy();
  const target = request.url ?? '/';
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (pod.dns) {
    // CoreDNS's own HTTP endpoints: the metrics plugin, and the ready and health plugins.
    if (path === '/metrics') return reply(response, 200, pod.dns.metrics.render());
    if (path === '/ready' || path === '/health') return reply(response, 200, 'OK');
  }
  switch (path) {
    case '/':
    case '/hostname':
      return reply(response, 200, pod.name);
    case '/clientip':
      return reply(response, 200, hostPort(request.socket.remoteAddress, request.socket.remotePort));
    case '/echo':
      return reply(response, 200, new URLSearchParams(target.slice(path.length + 1)).get('msg') ?? '');
    case '/healthz':
      return pod.healthy ? reply(response, 200, 'ok') : reply(response, 503, 'not ready');
    case '/healthz/fail':
    case '/healthz/pass':
      if (request.method !== 'POST') return reply(response, 405, 'use POST\n');
      pod.healthy = path === '/healthz/pass';
      return reply(response, 200, pod.healthy ? '/healthz now answers 200\n' : '/healthz now answers 503\n');
    default:
      return reply(response, 404, '404 page not found\n');
  }
}

function reply(response: http.ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function answerDatagram(this: dgram.Socket, message: Buffer, sender: dgram.RemoteInfo): void {
  const pod = podServedBy.get(this);
  if (!pod) return;
  const command = message.toString('utf8').trim();
  let answer: string | Buffer = message;
  if (command === 'hostname') answer = pod.name;
  else if (command === 'clientip') answer = hostPort(sender.address, sender.port);
  else if (command.startsWith('echo ')) answer = command.slice('echo '.length);
  this.send(answer, sender.port, sender.address);
}

// As Go's net.JoinHostPort prints r.RemoteAddr; IPv4 clients of the dual-stack listener appear
// as IPv4-mapped IPv6 addresses, shown in their IPv4 form.
function hostPort(address: string | undefined, port: number | undefined): string {
  const ip = (address ?? '').replace(/^::ffff:(?=\d+\.)/, '');
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function podName(pod: PodIdentity): string {
  return `${pod.namespace}/${pod.name}`;
}

async function closeEndpoints(endpoints: Endpoint[]): Promise<void> {
  await Promise.all(endpoints.map(closeEndpoint));
}

function closeEndpoint(endpoint: Endpoint): Promise<void> {
  return new Promise((resolve) => {
    if (endpoint instanceof http.Server) {
      endpoint.close(() => resolve());
      // Keep-alive connections would otherwise hold the pod's namespace (and its sockets) alive.
      endpoint.closeAllConnections();
    } else if (endpoint instanceof net.Server) {
      endpoint.close(() => resolve());
      for (const c of dnsConnections.get(endpoint) ?? []) c.destroy();
    } else {
      try {
        endpoint.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    }
  });
}
