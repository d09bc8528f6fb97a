// One iptables rule's arguments, understood: its addresses, protocol, match modules with their
// options, and its target. Both spellings of a rule parse to the same thing: kube-proxy's restore
// input (`-m tcp -p tcp -d 10.43.0.20 --dport 80`) and what iptables-save prints back
// (`-d 10.43.0.20/32 -p tcp -m tcp --dport 80`). The tracer walks rules through this, and
// canonicalRule gives each rule one spelling, so a test can check that no rule was lost between
// the text kube-proxy wrote and what the kernel holds.

export interface Negatable {
  value: string;
  negated: boolean;
}

export interface RuleOption {
  name: string;
  values: string[];
  negated: boolean;
}

export interface MatchModule {
  name: string;
  options: RuleOption[];
}

export interface RuleSpec {
  source?: Negatable;
  destination?: Negatable;
  protocol?: Negatable;
  inInterface?: Negatable;
  outInterface?: Negatable;
  matches: MatchModule[];
  target?: { name: string; options: RuleOption[]; goto: boolean };
}

const BASIC: Record<string, 'source' | 'destination' | 'protocol' | 'inInterface' | 'outInterface'> = {
  '-s': 'source',
  '--source': 'source',
  '-d': 'destination',
  '--destination': 'destination',
  '-p': 'protocol',
  '--protocol': 'protocol',
  '-i': 'inInterface',
  '--in-interface': 'inInterface',
  '-o': 'outInterface',
  '--out-interface': 'outInterface',
};

export function parseRuleArgs(args: readonly string[]): RuleSpec {
  const spec: RuleSpec = { matches: [] };
  let current: { options: RuleOption[] } | undefined;
  let negated = false;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '!') {
      negated = true;
      continue;
    }
    const basic = BASIC[word];
    if (basic) {
      spec[basic] = { value: args[++i] ?? '', negated };
    } else if (word === '-m' || word === '--match') {
      const module: MatchModule = { name: args[++i] ?? '', options: [] };
      spec.matches.push(module);
      current = module;
    } else if (word === '-j' || word === '--jump' || word === '-g' || word === '--goto') {
      spec.target = { name: args[++i] ?? '', options: [], goto: word === '-g' || word === '--goto' };
      current = spec.target;
    } else if (word.startsWith('-')) {
      if (!current) {
        // `-p tcp --dport 80` without `-m tcp`: the protocol's match is loaded implicitly.
        const module: MatchModule = { name: spec.protocol?.value ?? '', options: [] };
        spec.matches.push(module);
        current = module;
      }
      const values: string[] = [];
      while (i + 1 < args.length && !args[i + 1]!.startsWith('-') && args[i + 1] !== '!') values.push(args[++i]!);
      current.options.push({ name: word, values, negated });
    }
    negated = false;
  }
  return spec;
}

/** The option's first value, if the module (or target) has the option. */
export function optionValue(options: readonly RuleOption[], name: string): string | undefined {
  return options.find((o) => o.name === name)?.values[0];
}

export function findMatch(spec: RuleSpec, name: string): MatchModule | undefined {
  return spec.matches.find((m) => m.name === name);
}

/** Options iptables-save prints that mean the same as leaving them out. */
const DEFAULT_OPTIONS: Record<string, readonly string[]> = {
  recent: ['--mask 255.255.255.255', '--rsource'],
};

/**
 * One spelling for a rule, whatever the order of its arguments and however iptables-save
 * normalised them: addresses get their /32, `--probability` becomes the kernel's 31-bit value,
 * MARK's --or-mark/--xor-mark become the --set-xmark iptables-save prints, REJECT gets its
 * default --reject-with, default options of `recent` are dropped.
 */
export function canonicalRule(args: readonly string[]): string {
  const spec = parseRuleArgs(args);
  const parts: string[] = [];
  const put = (flag: string, n: Negatable | undefined, value = n?.value): void => {
    if (n) parts.push(`${n.negated ? '! ' : ''}${flag} ${value}`);
  };
  put('-s', spec.source, spec.source && withPrefix(spec.source.value));
  put('-d', spec.destination, spec.destination && withPrefix(spec.destination.value));
  put('-p', spec.protocol, spec.protocol?.value.toLowerCase());
  put('-i', spec.inInterface);
  put('-o', spec.outInterface);
  const modules = spec.matches.map((m) => `-m ${m.name}${canonicalOptions(m.name, m.options)}`).sort();
  parts.push(...modules);
  if (spec.target) parts.push(`${spec.target.goto ? '-g' : '-j'} ${spec.target.name}${canonicalOptions(spec.target.name, targetOptions(spec.target.name, spec.target.options))}`);
  return parts.join(' ');
}

function canonicalOptions(owner: string, options: readonly RuleOption[]): string {
  const defaults = DEFAULT_OPTIONS[owner] ?? [];
  const words = options
    .map((o) => {
      const values = o.name === '--probability' ? [String(Math.round(Number(o.values[0]) * 0x80000000))] : o.values;
      return `${o.negated ? '! ' : ''}${[o.name, ...values.map((v) => (/\s/.test(v) ? JSON.stringify(v) : v))].join(' ')}`;
    })
    .filter((text) => !defaults.includes(text))
    .sort();
  return words.length ? ' ' + words.join(' ') : '';
}

function targetOptions(target: string, options: readonly RuleOption[]): RuleOption[] {
  if (target === 'REJECT' && options.length === 0) return [{ name: '--reject-with', values: ['icmp-port-unreachable'], negated: false }];
  if (target !== 'MARK') return [...options];
  return options.map((o) => {
    const [value = ''] = o.values;
    if (o.name === '--or-mark') return { name: '--set-xmark', values: [`${value}/${value}`], negated: false };
    if (o.name === '--xor-mark') return { name: '--set-xmark', values: [`${value}/0x0`], negated: false };
    if (o.name === '--set-mark') return { name: '--set-xmark', values: [value.includes('/') ? value : `${value}/0xffffffff`], negated: false };
    return o;
  });
}

function withPrefix(address: string): string {
  return address.includes('/') ? address : `${address}/32`;
}
