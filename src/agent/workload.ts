// What every pod serves. A real cluster runs a container per pod; the lab has one agent process
// that opens each pod's sockets inside the pod's network namespace and answers on them itself,
// following the agnhost `netexec` conventions that Kubernetes' own network e2e tests use. Pods are
// many and their answers identical, so the request handlers are shared and a pod costs little
// more than its sockets.
import dgram from 'node:dgram';
import http from 'node:http';
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
}

export interface ServedPort {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
}

type Endpoint = http.Server | dgram.Socket;

// The shared handlers find their pod from the server or socket they were called on.
const podServedBy = new WeakMap<Endpoint, PodIdentity>();

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
  if (protocol === 'TCP') {
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
    socket.on('message', answerDatagram);
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
    } else {
      try {
        endpoint.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    }
  });
}
