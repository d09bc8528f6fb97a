// Reading kube-proxy's table back from the kernel: `nft -j list table ip kube-proxy` as chains of
// rules and maps of elements, each rule and element also as the text `nft list table` prints for
// it. JSON rather than the text listing because nft 1.0.6 gives every expression its own object
// (a `numgen random mod N vmap` carries its branches as [value, verdict] pairs, a map element its
// key, comment and verdict), while the text wraps long element lists and needs a parser of its
// own. The printer knows the expressions of kube-proxy's per-Service chains (what `knetlab explain`
// shows) and prints anything else as its JSON.

/** One nft JSON expression or statement, e.g. `{ "match": { ... } }` or `{ "goto": { ... } }`. */
export type NftExpr = Record<string, unknown>;

export interface NftRule {
  chain: string;
  handle: number;
  expr: NftExpr[];
  comment?: string;
}

/** A map element: its key (`10.43.0.10 . udp . 53`) and value (`goto service-...`) as nft prints them. */
export interface NftElement {
  key: string;
  value: string;
  comment?: string;
}

export interface NftListing {
  /** Each chain's rules, in order. */
  chains: Map<string, NftRule[]>;
  /** Each map's elements, in the kernel's order. Sets are left out. */
  maps: Map<string, NftElement[]>;
}

interface JsonListing {
  nftables?: Record<string, unknown>[];
}

/** Parses `nft -j list table ...` (or `list ruleset`): the chains, rules and maps of one table. */
export function parseNftJson(text: string, table = 'kube-proxy'): NftListing {
  const listing: NftListing = { chains: new Map(), maps: new Map() };
  for (const object of (JSON.parse(text) as JsonListing).nftables ?? []) {
    const chain = object.chain as { table: string; name: string } | undefined;
    if (chain?.table === table) listing.chains.set(chain.name, listing.chains.get(chain.name) ?? []);
    const rule = object.rule as (NftRule & { table: string }) | undefined;
    if (rule?.table === table) {
      const list = listing.chains.get(rule.chain) ?? [];
      list.push({ chain: rule.chain, handle: rule.handle, expr: rule.expr, ...(rule.comment !== undefined ? { comment: rule.comment } : {}) });
      listing.chains.set(rule.chain, list);
    }
    const map = object.map as { table: string; name: string; elem?: [unknown, unknown][] } | undefined;
    if (map?.table === table) listing.maps.set(map.name, (map.elem ?? []).map(([key, value]) => element(key, value)));
  }
  return listing;
}

function element(key: unknown, value: unknown): NftElement {
  const wrapped = (key as { elem?: { val: unknown; comment?: string } }).elem;
  const out: NftElement = { key: printValue(wrapped ? wrapped.val : key), value: printValue(value) };
  if (wrapped?.comment !== undefined) out.comment = wrapped.comment;
  return out;
}

/** The rule as `nft list chain` prints it. */
export function printRule(rule: NftRule): string {
  const text = rule.expr.map(printStatement).join(' ');
  return rule.comment !== undefined ? `${text} comment "${rule.comment}"` : text;
}

/** The element as `nft list map` prints it: `KEY [comment "..."] : VALUE`. */
export function printElement(e: NftElement): string {
  return `${e.key}${e.comment !== undefined ? ` comment "${e.comment}"` : ''} : ${e.value}`;
}

/** The target of a `jump` or `goto` statement, if the expression is one. */
export function verdictTarget(e: unknown): { verdict: 'jump' | 'goto'; target: string } | undefined {
  const o = e as { jump?: { target: string }; goto?: { target: string } };
  if (o.jump) return { verdict: 'jump', target: o.jump.target };
  if (o.goto) return { verdict: 'goto', target: o.goto.target };
  return undefined;
}

const VERDICTS = ['accept', 'drop', 'continue', 'return'];

export function printStatement(e: NftExpr): string {
  const [kind, body] = Object.entries(e)[0] ?? ['', undefined];
  const b = body as Record<string, unknown>;
  const jump = verdictTarget(e);
  if (jump) return `${jump.verdict} ${jump.target}`;
  if (VERDICTS.includes(kind)) return kind;
  switch (kind) {
    case 'match': {
      const op = b.op === '==' || b.op === 'in' ? '' : `${String(b.op)} `;
      return `${printValue(b.left)} ${op}${printValue(b.right)}`;
    }
    case 'dnat':
    case 'snat':
      return `${kind} to ${printValue(b.addr)}${b.port !== undefined ? `:${printValue(b.port)}` : ''}`;
    case 'masquerade':
      return ['masquerade', ...((b?.flags as string[] | undefined) ?? [])].join(' ');
    case 'reject':
      return 'reject';
    case 'set':
      return `${String(b.op)} ${String(b.set)} { ${printValue(b.elem)} }`;
    case 'vmap':
      return `${printValue(b.key)} vmap ${printValue(b.data)}`;
    default:
      return JSON.stringify(e);
  }
}

export function printValue(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(printValue).join(', ');
  const jump = verdictTarget(v);
  if (jump) return `${jump.verdict} ${jump.target}`;
  const [kind, body] = Object.entries(v as object)[0] ?? ['', undefined];
  const b = body as Record<string, unknown>;
  if (VERDICTS.includes(kind)) return kind;
  switch (kind) {
    case 'concat':
      return (body as unknown[]).map(printValue).join(' . ');
    case 'prefix':
      return `${String(b.addr)}/${String(b.len)}`;
    case 'set': {
      // An anonymous set, or a vmap's [value, verdict] pairs.
      const items = (body as unknown[]).map((i) => (Array.isArray(i) && i.length === 2 ? `${printValue(i[0])} : ${printValue(i[1])}` : printValue(i)));
      return `{ ${items.join(', ')} }`;
    }
    case 'payload':
      return `${String(b.protocol)} ${String(b.field)}`;
    case 'meta':
      return `meta ${String(b.key)}`;
    case 'fib':
      return `fib ${(b.flags as string[]).join(' . ')} ${String(b.result)}`;
    case 'numgen':
      return `numgen ${String(b.mode)} mod ${String(b.mod)}${b.offset ? ` offset ${String(b.offset)}` : ''}`;
    case 'elem':
      return printValue(b.val);
    default:
      return JSON.stringify(v);
  }
}
