// Parses what `conntrack -L` prints, one connection a line:
//
//   tcp      6 119 TIME_WAIT src=A dst=B sport=P dport=Q [UNREPLIED] src=C dst=D sport=R dport=S [ASSURED] mark=0 use=1
//
// protocol name and number, seconds left, the state (TCP, SCTP and DCCP only), the original
// tuple (as the first packet was seen), the reply tuple (what an answer must look like: after a
// DNAT its source is the endpoint, after a SNAT its destination is the translated address), the
// status flags in brackets, and key=value extras (mark, use, zone, secctx, id...). `-o extended`
// adds a leading "ipv4 2". Pure: text in, entries out; lines it cannot read are returned, not thrown.

/** One direction of a connection. Ports for tcp/udp/sctp/dccp; type/code/id for icmp. */
export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
}

export interface ConntrackEntry {
  /** "ipv4"/"ipv6" when the line carried it (`-o extended`). */
  family?: string;
  protocol: string;
  protocolNumber: number;
  /** Seconds until the entry expires. */
  timeout: number;
  state?: string;
  original: Tuple;
  reply: Tuple;
  /** ASSURED, UNREPLIED, OFFLOAD, HW_OFFLOAD, ... without brackets. */
  flags: string[];
  mark?: number;
  use?: number;
  zone?: number;
  /** Any other key=value after the tuples (secctx, id, labels, ...). */
  extra: Record<string, string>;
}

export interface ParseProblem {
  line: number;
  text: string;
  message: string;
}

export interface ParseResult {
  entries: ConntrackEntry[];
  problems: ParseProblem[];
}

const TUPLE_KEYS = new Set(['src', 'dst', 'sport', 'dport', 'type', 'code', 'id']);
/** The summary conntrack writes to stderr; tolerated when the streams were merged. */
const SUMMARY = /^conntrack v[\d.]+ \(conntrack-tools\): \d+ flow entr(y|ies) ha(s|ve) been shown\.$/;

function setTupleField(t: Partial<Tuple>, key: string, value: string): void {
  if (key === 'src' || key === 'dst') t[key] = value;
  else t[key as 'sport' | 'dport' | 'type' | 'code' | 'id'] = Number(value);
}

/** Parses one line; throws an Error saying what is wrong with it. */
export function parseConntrackLine(line: string): ConntrackEntry {
  const tokens = line.trim().split(/\s+/);
  let i = 0;
  let family: string | undefined;
  if (tokens[0] === 'ipv4' || tokens[0] === 'ipv6') {
    family = tokens[0];
    i = 2;
  }
  const protocol = tokens[i++];
  const protocolNumber = Number(tokens[i++]);
  const timeout = Number(tokens[i++]);
  if (!protocol || !/^[a-z0-9-]+$/.test(protocol) || !Number.isInteger(protocolNumber) || !Number.isInteger(timeout)) {
    throw new Error('expected "PROTOCOL NUMBER TIMEOUT" at the start');
  }
  let state: string | undefined;
  if (tokens[i] && /^[A-Z][A-Z0-9_]*$/.test(tokens[i]!)) state = tokens[i++];

  const original: Partial<Tuple> = {};
  const reply: Partial<Tuple> = {};
  const flags: string[] = [];
  const extra: Record<string, string> = {};
  // Which tuple key=value tokens go to: the original until the second src=, then the reply
  // until a key that is no tuple key (or one the reply already has), then none.
  let current: Partial<Tuple> | undefined;
  let tuplesDone = false;
  for (; i < tokens.length; i++) {
    const token = tokens[i]!;
    const flag = /^\[([A-Z_]+)\]$/.exec(token);
    if (flag) {
      flags.push(flag[1]!);
      if (current === reply) tuplesDone = true;
      continue;
    }
    const eq = token.indexOf('=');
    if (eq <= 0) throw new Error(`unexpected "${token}"`);
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (!tuplesDone && key === 'src') {
      if (current === undefined) current = original;
      else if (current === original) current = reply;
      else tuplesDone = true;
    }
    if (!tuplesDone && current && TUPLE_KEYS.has(key) && !(key in current)) {
      setTupleField(current, key, value);
      continue;
    }
    if (current === reply) tuplesDone = true;
    extra[key] = value;
  }
  if (!original.src || !original.dst) throw new Error('no original tuple (src=, dst=)');
  if (!reply.src || !reply.dst) throw new Error('no reply tuple (a second src=, dst=)');

  const numbers: Partial<Record<'mark' | 'use' | 'zone', number>> = {};
  for (const key of ['mark', 'use', 'zone'] as const) {
    if (extra[key] !== undefined && /^\d+$/.test(extra[key])) {
      numbers[key] = Number(extra[key]);
      delete extra[key];
    }
  }
  const entry: ConntrackEntry = {
    ...(family ? { family } : {}),
    protocol,
    protocolNumber,
    ...(state ? { state } : {}),
    timeout,
    original: original as Tuple,
    reply: reply as Tuple,
    flags,
    ...numbers,
    extra,
  };
  return entry;
}

/** Parses the whole output; blank lines and the "N flow entries" summary are skipped. */
export function parseConntrack(text: string): ParseResult {
  const entries: ConntrackEntry[] = [];
  const problems: ParseProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || SUMMARY.test(line)) return;
    try {
      entries.push(parseConntrackLine(line));
    } catch (err) {
      problems.push({ line: index + 1, text: line, message: (err as Error).message });
    }
  });
  return { entries, problems };
}

/** "10.42.0.3:8080", or just the address when the tuple has no ports (icmp, unknown). */
export function endpointText(t: Tuple, side: 'src' | 'dst'): string {
  const port = side === 'src' ? t.sport : t.dport;
  return port === undefined ? t[side] : `${t[side]}:${port}`;
}

/** "A:P -> B:Q", plus "icmp type 8" details when there are no ports. */
export function tupleText(t: Tuple): string {
  const icmp = t.type !== undefined ? ` (type ${t.type} code ${t.code ?? 0}${t.id !== undefined ? ` id ${t.id}` : ''})` : '';
  return `${endpointText(t, 'src')} -> ${endpointText(t, 'dst')}${icmp}`;
}
