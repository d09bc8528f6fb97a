// The shapes `knetlab trace` passes around: what to trace (TraceRequest), what the kernel said
// while it happened (TraceCapture: the raw `nft monitor trace` lines, conntrack entries and the
// iptables rules behind the nft handles), and what the student reads (TraceResult). A capture is
// plain JSON, so that a real run can be saved as a fixture and the report rebuilt without root.

export type TraceProtocol = 'tcp' | 'udp';

/** A node whose kernel is traced: its namespace and LAN IP. */
export interface TraceNode {
  name: string;
  netns: string;
  ip: string;
  podCIDR?: string;
}

/** One ready endpoint of the Service traced, with the pod behind it (for naming the DNAT's target). */
export interface TraceEndpoint {
  ip: string;
  port: number;
  pod?: string;
  namespace?: string;
  node?: string;
}

/** What runTrace needs from its surroundings. */
export interface TraceDeps {
  nodes: TraceNode[];
}

/** What to trace: one request from a namespace to an IP:port. */
export interface TraceRequest {
  /** The sender: `target` as the user named it (`pod/web-1`, `node/server`, `lan`), its netns and source IP. */
  from: { target: string; netns: string; ip: string };
  /** The destination as named (`svc/web:http`, `10.43.0.5:80`) and as an IP:port. */
  to: { target: string; ip: string; port: number };
  protocol: TraceProtocol;
  /** The Service whose port this is, when there is one: `ns/name:port`. */
  service?: string;
  /** The Service's ready endpoints (empty for a Service without endpoints). */
  endpoints: TraceEndpoint[];
  /** The client's source port; chosen at random in 40000-49999 when not given. */
  clientPort?: number;
  /** How long the client waits for an answer (default 2000 ms). */
  timeoutMs?: number;
}

/** Addresses and ports of one direction of a connection, as conntrack names them. */
export interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface ConntrackEntry {
  node: string;
  protocol: string;
  state?: string;
  original: Tuple;
  reply: Tuple;
  flags: string[];
}

/** One line of `nft monitor trace` in a node, with when it was read (ms since the trace began). */
export interface MonitorLine {
  node: string;
  t: number;
  line: string;
}

/** The iptables rule behind an nft rule handle, so that a hop can show kube-proxy's comment. */
export interface RuleInfo {
  node: string;
  table: string;
  chain: string;
  handle: number;
  /** The rule as `iptables -S` prints it. */
  rule: string;
  comment?: string;
}

export interface ClientOutcome {
  ok: boolean;
  exitCode: number;
  answer?: string;
  error?: string;
}

/** Everything a trace observed; buildReport turns it into a TraceResult. */
export interface TraceCapture {
  request: TraceRequest & { clientPort: number };
  nodes: TraceNode[];
  /** `ip route get` in the sender's namespace: the source route lookup. */
  route?: string;
  client: ClientOutcome;
  lines: MonitorLine[];
  conntrack: ConntrackEntry[];
  rules: RuleInfo[];
}

export type NatKind = 'dnat' | 'snat' | 'masquerade' | 'mark-masq' | 'reject' | 'drop';

/** One rule, policy or verdict event in a chain, as the kernel reported it. */
export interface Hop {
  family: string;
  table: string;
  chain: string;
  kind: 'rule' | 'policy' | 'verdict' | 'return';
  /** continue, accept, drop, return, `jump CHAIN`, `goto CHAIN`. */
  verdict: string;
  /** The rule as nft prints it (counters removed); absent for `unknown rule` and policies. */
  rule?: string;
  handle?: number;
  /** kube-proxy's `-m comment`, which nft cannot print: found through the handle. */
  comment?: string;
  /** The rule as `iptables -S` prints it, found through the handle. */
  iptables?: string;
  nat?: { kind: NatKind; to?: string };
}

/** The `packet:` line: the headers as the packet entered a base chain. */
export interface PacketHeaders {
  iif?: string;
  oif?: string;
  src: string;
  dst: string;
  protocol: string;
  sport?: number;
  dport?: number;
  /** TCP flags by name (`SYN`, `SYN-ACK`, ...), or the ICMP type. */
  flags?: string;
  ipId?: number;
  ttl?: number;
  length?: number;
  mark?: string;
}

/** One pass of a packet through a base chain (a hook of one table). */
export interface HookVisit {
  traceId: string;
  family: string;
  table: string;
  chain: string;
  headers?: PacketHeaders;
  hops: Hop[];
}

/** One packet's way through one node: its base-chain visits in order. */
export interface NodePacket {
  node: string;
  /** When its first line was read, ms since the trace began. */
  t: number;
  /** Its position in the node's own stream of events. */
  seq: number;
  visits: HookVisit[];
}
