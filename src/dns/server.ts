// The cluster DNS on the wire: UDP and TCP port 53 of the DNS pod, answered by the agent itself
// (the sockets are bound inside the pod's network namespace by the caller; this module only
// attaches handlers). TCP follows RFC 7766 as CoreDNS's server (miekg/dns) does: two-byte length
// prefixes, several queries per connection answered in order, idle connections closed.
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import { respond, type Reply, type Transport } from './message.js';
import { DnsMetrics } from './metrics.js';
import type { DnsView } from './records.js';

export { answer, fit, respond } from './message.js';
export { DnsMetrics } from './metrics.js';
export { type DnsView, resolveQuestion } from './records.js';

/** Called once per query, so that every answer reflects the objects as they are at that moment. */
export type ViewSource = () => DnsView;

export interface TcpOptions {
  /** Close a connection with no query for this long. CoreDNS's default idle timeout is 10 s. */
  idleTimeoutMs?: number;
  /** Close a connection after this many queries, as miekg/dns does after 128. */
  maxQueries?: number;
}

/** IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d; CoreDNS (Go) counts them as family 1. */
function family(address: string | undefined, family: string | undefined): 1 | 2 {
  if (address?.toLowerCase().startsWith('::ffff:') && address.includes('.')) return 1;
  return family === 'IPv6' ? 2 : 1;
}

function observe(metrics: DnsMetrics | undefined, reply: Reply, proto: Transport, fam: 1 | 2): void {
  if (metrics && reply.observed) metrics.observe({ ...reply.observed, proto, family: fam });
}

/** Answers every datagram `socket` receives. Send errors (an unreachable client) are dropped, as any DNS server does. */
export function serveDnsUdp(socket: dgram.Socket, view: ViewSource, metrics?: DnsMetrics): void {
  socket.on('message', (message, remote) => {
    const reply = respond(view, message, 'udp');
    observe(metrics, reply, 'udp', family(remote.address, remote.family));
    if (reply.response.length > 0) socket.send(reply.response, remote.port, remote.address, () => {});
  });
}

/** Answers every connection `server` accepts: length-prefixed messages, replies in order. */
export function serveDnsTcp(server: net.Server, view: ViewSource, metrics?: DnsMetrics, options: TcpOptions = {}): void {
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const maxQueries = options.maxQueries ?? 128;
  server.on('connection', (socket) => {
    let pending: Buffer = Buffer.alloc(0);
    let served = 0;
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy()); // a reset by the client is not our problem
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      // Every complete message in the buffer; a partial one waits for more data.
      while (pending.length >= 2 && served < maxQueries) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        served += 1;
        const reply = respond(view, message, 'tcp');
        observe(metrics, reply, 'tcp', family(socket.remoteAddress, socket.remoteFamily));
        // No reply (junk without a header) leaves the connection open, as miekg/dns does.
        if (reply.response.length > 0 && socket.writable) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.response.length);
          socket.write(Buffer.concat([prefix, reply.response]));
        }
      }
      if (served >= maxQueries) {
        pending = Buffer.alloc(0);
        socket.end();
      }
    });
  });
}
