// A virtual packet pushed through parsed iptables rules, as upstream's unit tests do
// (tracePacket in pkg/proxy/iptables/proxier_test.go): no root and no kernel, just the rules.
// It walks nat PREROUTING (or OUTPUT), follows jumps, takes every branch a `-m statistic` rule
// may take (so it returns every possible DNAT destination), then the filter chain the routing
// decision picks, then nat POSTROUTING, where KUBE-MARK-MASQ's mark turns into MASQUERADE.
// Like upstream's tracer it assumes a new connection from a client with no history: `-m recent
// --rcheck` (session affinity) does not match unless asked, and unknown matches do match.
import { isIPv4, contains, parseCidr } from '../ipam/cidr.js';
import type { Ruleset } from './iptables-save.js';
import { MASQUERADE_MARK } from './chains.js';
import { optionValue, parseRuleArgs, type MatchModule, type Negatable, type RuleOption, type RuleSpec } from './rule-spec.js';

export interface TracePacket {
  srcIP: string;
  dstIP: string;
  dstPort: number;
  protocol: string;
  inInterface?: string;
  /** The node's own addresses, for `-m addrtype LOCAL` and the routing decision (127/8 is always local). */
  localAddresses: string[];
}

export interface TraceOptions {
  /** PREROUTING: the packet arrives from a pod or another host; OUTPUT: the node itself sends it. */
  hook?: 'PREROUTING' | 'OUTPUT';
  /** 'maybe': treat session-affinity checks like `-m statistic`, as rules that may match. */
  affinity?: 'none' | 'maybe';
}

export interface TraceResult {
  /** Chains entered, in order, as `table/CHAIN`. */
  chains: string[];
  /** Rules that matched, as `table/CHAIN args...`. */
  matched: string[];
  /** Every `ip:port` the packet may be DNATed to (several when a probabilistic rule was passed). */
  destinations: string[];
  /** The filter verdict, when a rule gave one. */
  verdict?: 'ACCEPT' | 'DROP' | 'REJECT';
  rejected: boolean;
  /** The masquerade mark (0x4000) was set at some point, on any of the possible branches. */
  marked: boolean;
  masqueraded: boolean;
}

const MAX_DEPTH = 64;

export function tracePacket(rules: Ruleset, packet: TracePacket, options: TraceOptions = {}): TraceResult {
  const hook = options.hook ?? 'PREROUTING';
  const t = new Tracer(rules, packet, options);
  t.run('nat', hook, 0);
  const [first] = t.destinations;
  if (first) t.dstIP = first.slice(0, first.lastIndexOf(':'));
  const local = t.isLocal(t.dstIP);
  t.run('filter', hook === 'OUTPUT' ? 'OUTPUT' : local ? 'INPUT' : 'FORWARD', 0);
  if (t.verdict !== 'DROP' && t.verdict !== 'REJECT' && !(hook === 'PREROUTING' && local)) t.run('nat', 'POSTROUTING', 0);
  return { chains: t.chains, matched: t.matched, destinations: t.destinations, ...(t.verdict ? { verdict: t.verdict } : {}), rejected: t.verdict === 'REJECT', marked: t.marked, masqueraded: t.masqueraded };
}

class Tracer {
  chains: string[] = [];
  matched: string[] = [];
  destinations: string[] = [];
  verdict: TraceResult['verdict'];
  marked = false;
  masqueraded = false;
  dstIP: string;
  private mark = 0;
  private readonly specs = new Map<readonly string[], RuleSpec>();

  constructor(
    private readonly rules: Ruleset,
    private readonly packet: TracePacket,
    private readonly options: TraceOptions,
  ) {
    this.dstIP = packet.dstIP;
  }

  isLocal(ip: string): boolean {
    return ip.startsWith('127.') || this.packet.localAddresses.includes(ip);
  }

  /** Runs one chain; true when it ended in a terminal target (DNAT, a verdict, MASQUERADE). */
  run(table: string, chainName: string, depth: number): boolean {
    const chain = this.rules.get(table)?.get(chainName);
    if (!chain || depth > MAX_DEPTH) return false;
    this.chains.push(`${table}/${chainName}`);
    for (const rule of chain.rules) {
      let spec = this.specs.get(rule.args);
      if (!spec) this.specs.set(rule.args, (spec = parseRuleArgs(rule.args)));
      const outcome = this.matches(spec, table);
      if (outcome === 'no' || !spec.target) continue;
      this.matched.push(`${table}/${chainName} ${rule.args.join(' ')}`);
      const { name, options, goto } = spec.target;
      switch (name) {
        case 'DNAT':
          this.addDestination(optionValue(options, '--to-destination') ?? '');
          if (outcome === 'maybe') continue;
          return true;
        case 'MARK':
          this.applyMark(options);
          continue;
        case 'MASQUERADE':
        case 'SNAT':
          this.masqueraded = true;
          return true;
        case 'ACCEPT':
        case 'DROP':
        case 'REJECT':
          this.verdict ??= name;
          return true;
        case 'RETURN':
          return false;
        default: {
          if (!this.rules.get(table)?.has(name)) continue; // LOG and other non-terminal targets
          const terminated = this.run(table, name, depth + 1);
          // Through a probabilistic rule the packet may also not have come this way: keep
          // walking this chain to collect the other possible outcomes, as upstream's tracer does.
          if (goto || (terminated && outcome === 'yes')) return terminated;
        }
      }
    }
    return false;
  }

  /** Each possible destination once, in the order first reached. */
  private addDestination(destination: string): void {
    if (!this.destinations.includes(destination)) this.destinations.push(destination);
  }

  private matches(spec: RuleSpec, table: string): 'yes' | 'maybe' | 'no' {
    const p = this.packet;
    if (!addressMatches(spec.source, p.srcIP) || !addressMatches(spec.destination, this.dstIP)) return 'no';
    if (spec.protocol && (spec.protocol.value.toLowerCase() === p.protocol.toLowerCase()) === spec.protocol.negated) return 'no';
    if (spec.inInterface && (spec.inInterface.value === p.inInterface) === spec.inInterface.negated) return 'no';
    let outcome: 'yes' | 'maybe' = 'yes';
    for (const m of spec.matches) {
      const result = this.moduleMatches(m, table);
      if (result === 'no') return 'no';
      if (result === 'maybe') outcome = 'maybe';
    }
    return outcome;
  }

  private moduleMatches(m: MatchModule, table: string): 'yes' | 'maybe' | 'no' {
    const holds = (ok: boolean, negated = false): 'yes' | 'no' => (ok !== negated ? 'yes' : 'no');
    for (const o of m.options) {
      const [value = ''] = o.values;
      if (o.name === '--dport') {
        const [lo, hi = lo] = value.split(':').map(Number);
        if (holds(this.packet.dstPort >= lo! && this.packet.dstPort <= hi!, o.negated) === 'no') return 'no';
      } else if (o.name === '--dst-type' || o.name === '--src-type') {
        const ip = o.name === '--dst-type' ? this.dstIP : this.packet.srcIP;
        if (value === 'LOCAL' && holds(this.isLocal(ip), o.negated) === 'no') return 'no';
      } else if (m.name === 'mark' && o.name === '--mark') {
        const [v = '0', mask = '0xffffffff'] = value.split('/');
        if (holds((this.mark & Number(mask)) >>> 0 === Number(v) >>> 0, o.negated) === 'no') return 'no';
      } else if (o.name === '--ctstate') {
        // A new connection; DNAT once nat has rewritten it (filter runs after nat).
        const states = ['NEW', ...(table === 'filter' && this.destinations.length > 0 ? ['DNAT'] : [])];
        if (holds(value.split(',').some((s) => states.includes(s)), o.negated) === 'no') return 'no';
      }
    }
    if (m.name === 'statistic') return 'maybe';
    if (m.name === 'recent' && m.options.some((o) => o.name === '--rcheck' || o.name === '--update')) return this.options.affinity === 'maybe' ? 'maybe' : 'no';
    return 'yes';
  }

  private applyMark(options: readonly RuleOption[]): void {
    const or = optionValue(options, '--or-mark');
    const xor = optionValue(options, '--xor-mark');
    const xset = optionValue(options, '--set-xmark') ?? optionValue(options, '--set-mark');
    if (or) this.mark |= Number(or);
    if (xor) this.mark ^= Number(xor);
    if (xset) {
      const [v = '0', mask = '0xffffffff'] = xset.split('/');
      this.mark = ((this.mark & ~Number(mask)) ^ Number(v)) >>> 0;
    }
    if (this.mark & Number(MASQUERADE_MARK)) this.marked = true;
  }
}

/** `-s`/`-d` with an address or CIDR, possibly negated; absent matches everything. */
function addressMatches(address: Negatable | undefined, ip: string): boolean {
  if (!address) return true;
  const cidr = parseCidr(address.value.includes('/') ? address.value : `${address.value}/32`);
  const inside = cidr !== undefined && isIPv4(ip) && contains(cidr, ip);
  return inside !== address.negated;
}
