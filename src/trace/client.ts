// The one request a trace sends, from the sender's namespace and from a fixed source port, so that
// the TRACE rules can pick out its connection by conntrack's original tuple. TCP is curl asking
// for /hostname (every lab pod answers with its name); UDP is one `hostname` datagram from a
// small python3 client on a connected socket (so that an ICMP port-unreachable, which is what a
// Service without endpoints answers, shows up as "connection refused"), waiting for the answer.
import { run } from '../kernel/exec.js';
import type { ClientOutcome, TraceProtocol } from './types.js';

/** A source port from a band that the kernel's ephemeral range (32768-60999) rarely has busy. */
export function randomClientPort(): number {
  return 40000 + Math.floor(Math.random() * 10000);
}

const UDP_CLIENT = `
import socket, sys
host, port, local, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", local))
s.connect((host, port))
s.settimeout(timeout)
s.send(b"hostname")
try:
    print(s.recv(65535).decode(errors="replace"))
except ConnectionRefusedError:
    print("connection refused (ICMP port unreachable)", file=sys.stderr); sys.exit(7)
except socket.timeout:
    print("no answer within %.1f s" % timeout, file=sys.stderr); sys.exit(28)
`;

/** Sends the request and waits for its answer; never throws for a failed request. */
export async function sendRequest(netns: string, protocol: TraceProtocol, dest: { ip: string; port: number }, clientPort: number, timeoutMs: number): Promise<ClientOutcome> {
  const seconds = (timeoutMs / 1000).toFixed(1);
  const argv =
    protocol === 'tcp'
      ? ['curl', '-sS', '--local-port', String(clientPort), '--max-time', seconds, '-H', 'Connection: close', `http://${dest.ip}:${dest.port}/hostname`]
      : ['python3', '-c', UDP_CLIENT, dest.ip, String(dest.port), String(clientPort), seconds];
  const r = await run(['ip', 'netns', 'exec', netns, ...argv], { allowFailure: true });
  const outcome: ClientOutcome = { ok: r.exitCode === 0, exitCode: r.exitCode };
  if (r.stdout.trim()) outcome.answer = r.stdout.trim();
  if (r.exitCode !== 0) outcome.error = r.stderr.trim() || `exit ${r.exitCode}`;
  return outcome;
}

/** The sender's route to the destination, as `ip route get` prints it, and the source it picks. */
export async function routeLookup(netns: string, ip: string): Promise<{ route?: string; src?: string; error?: string }> {
  const r = await run(['ip', '-n', netns, '-o', 'route', 'get', ip], { allowFailure: true });
  if (r.exitCode !== 0) return { error: r.stderr.trim() || `ip route get ${ip} failed` };
  const route = r.stdout.split('\\')[0]!.replace(/\s+/g, ' ').replace(/ uid \d+/, '').trim();
  const src = / src (\S+)/.exec(route)?.[1];
  return src ? { route, src } : { route };
}
