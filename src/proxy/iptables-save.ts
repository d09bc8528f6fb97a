// Reads iptables-save text (and iptables-restore input, which is the same language) into tables,
// chains and rules, and replays restore input the way `iptables-restore --noflush` does: a chain
// line creates or flushes a user chain, `-A`/`-I` add rules (jumping only to chains that exist by
// then), `-X` deletes, and a table's changes land only at its COMMIT, all or nothing. That lets tests check the renderer's transactions
// without root (every jump target exists, no chain is deleted while referenced) and lets the
// tracer and `knetlab explain` walk a node's live rules with their counters.

export interface Counters {
  packets: number;
  bytes: number;
}

export interface ParsedRule {
  chain: string;
  /** The rule's arguments after `-A CHAIN`, quotes removed: ['-m', 'comment', '--comment', 'a b', ...]. */
  args: string[];
  counters?: Counters;
}

export interface ParsedChain {
  name: string;
  /** ACCEPT/DROP for a built-in chain, '-' for a user chain. */
  policy: string;
  counters?: Counters;
  rules: ParsedRule[];
}

export type ParsedTable = Map<string, ParsedChain>;
/** Tables by name (filter, nat, mangle, raw), each its chains by name in the order first seen. */
export type Ruleset = Map<string, ParsedTable>;

export const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Targets that are extensions, not chains (an upper-case name not declared as a chain). */
const TARGET_EXTENSIONS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'QUEUE', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'MARK', 'CONNMARK', 'LOG', 'NOTRACK', 'CT', 'TRACE', 'CHECKSUM', 'NFLOG', 'TPROXY']);

export class RestoreError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Parses iptables-save output (with or without -c counters). */
export function parseIptablesSave(text: string): Ruleset {
  return applyRestore(new Map(), text);
}

/**
 * Applies restore input to `ruleset` in place, with --noflush semantics, and returns it. Throws
 * RestoreError, like iptables-restore failing, leaving the failed table as it was.
 */
export function applyRestore(ruleset: Ruleset, text: string): Ruleset {
  let tableName: string | undefined;
  let table: ParsedTable | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      tableName = line.slice(1);
      table = cloneTable(ruleset.get(tableName) ?? emptyTable(tableName));
      return;
    }
    if (!table || !tableName) throw new RestoreError(lineNo, `"${line}" outside a table (expected *filter, *nat, ...)`);
    if (line === 'COMMIT') {
      checkJumps(table, lineNo);
      ruleset.set(tableName, table);
      table = tableName = undefined;
      return;
    }
    if (line.startsWith(':')) return declareChain(table, line, lineNo);
    const { counters, words } = splitCounters(tokenize(line));
    const [op, chain, ...args] = words;
    if (!chain) throw new RestoreError(lineNo, `incomplete command "${line}"`);
    const target = table.get(chain);
    if (op === '-N') {
      if (target) throw new RestoreError(lineNo, `chain ${chain} already exists`);
      table.set(chain, { name: chain, policy: '-', rules: [] });
      return;
    }
    if (!target) throw new RestoreError(lineNo, `chain ${chain} does not exist`);
    // iptables-nft runs a table's commands in order: a jump to a chain declared further down the
    // same transaction fails as surely as one to a chain that never comes ("Chain 'X' does not exist").
    const jumpsTo = op === '-A' || op === '-I' ? ruleTarget(args) : undefined;
    if (jumpsTo !== undefined && !table.has(jumpsTo) && !TARGET_EXTENSIONS.has(jumpsTo)) throw new RestoreError(lineNo, `${chain} jumps to ${jumpsTo}, which does not exist (yet)`);
    const rule: ParsedRule = { chain, args, ...(counters ? { counters } : {}) };
    if (op === '-A') target.rules.push(rule);
    else if (op === '-I') target.rules.unshift(rule);
    else if (op === '-F') target.rules = [];
    else if (op === '-X') deleteChain(table, chain, lineNo);
    else throw new RestoreError(lineNo, `unsupported command ${op}`);
  });
  if (table) throw new RestoreError(lines.length, `table ${tableName} has no COMMIT`);
  return ruleset;
}

/** The rule's target (`-j X` or `-g X`), if it has one. */
export function ruleTarget(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length - 1; i++) if (args[i] === '-j' || args[i] === '-g' || args[i] === '--jump' || args[i] === '--goto') return args[i + 1];
  return undefined;
}

/** Splits a line into words as iptables-restore does: double quotes group, `\"` escapes a quote. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === '\\')) {
      word += line[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function emptyTable(name: string): ParsedTable {
  return new Map((BUILTIN_CHAINS[name] ?? []).map((chain) => [chain, { name: chain, policy: 'ACCEPT', rules: [] }]));
}

function cloneTable(table: ParsedTable): ParsedTable {
  return new Map([...table].map(([name, chain]) => [name, { ...chain, rules: [...chain.rules] }]));
}

/** `:NAME POLICY [p:b]`: a built-in chain gets its policy; a user chain is created or flushed. */
function declareChain(table: ParsedTable, line: string, lineNo: number): void {
  const [name, policy = '-', counterText] = line.slice(1).split(/\s+/);
  if (!name) throw new RestoreError(lineNo, 'chain line without a name');
  const counters = counterText ? parseCounters(counterText) : undefined;
  const existing = table.get(name);
  if (existing && existing.policy !== '-') {
    existing.policy = policy;
    if (counters) existing.counters = counters;
    return;
  }
  table.set(name, { name, policy: '-', rules: [], ...(counters ? { counters } : {}) });
}

function deleteChain(table: ParsedTable, chain: string, lineNo: number): void {
  if (table.get(chain)!.policy !== '-') throw new RestoreError(lineNo, `cannot delete built-in chain ${chain}`);
  for (const other of table.values()) {
    if (other.name !== chain && other.rules.some((r) => ruleTarget(r.args) === chain)) throw new RestoreError(lineNo, `cannot delete chain ${chain}: ${other.name} still jumps to it`);
  }
  table.delete(chain);
}

/** iptables-restore refuses a rule whose target is neither a chain nor a target extension. */
function checkJumps(table: ParsedTable, lineNo: number): void {
  for (const chain of table.values()) {
    for (const r of chain.rules) {
      const target = ruleTarget(r.args);
      if (target !== undefined && !table.has(target) && !TARGET_EXTENSIONS.has(target)) throw new RestoreError(lineNo, `${chain.name} jumps to ${target}, which does not exist`);
    }
  }
}

function splitCounters(words: string[]): { counters?: Counters; words: string[] } {
  const counters = words[0]?.startsWith('[') ? parseCounters(words[0]) : undefined;
  if (counters) return { counters, words: words.slice(1) };
  // `-c packets bytes` may also follow the command in restore input.
  const c = words.indexOf('-c');
  if (c >= 0 && c + 2 < words.length) return { counters: { packets: Number(words[c + 1]), bytes: Number(words[c + 2]) }, words: [...words.slice(0, c), ...words.slice(c + 3)] };
  return { words };
}

function parseCounters(text: string): Counters | undefined {
  const m = /^\[(\d+):(\d+)\]$/.exec(text);
  return m ? { packets: Number(m[1]), bytes: Number(m[2]) } : undefined;
}
