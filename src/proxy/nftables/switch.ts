// Switching kube-proxy modes on a node removes every trace of the other mode, as kube-proxy does
// at start-up (CleanupLeftovers of the mode it is not running; pkg/proxy/nftables/proxier.go and
// pkg/proxy/iptables/proxier.go). nftables mode owns one table, so leaving it is one command.
// iptables mode owns chains in the kernel's shared tables and rules in their built-in chains, so
// leaving it needs to know what is there: the text is rendered from the node's iptables-save.
//
// Upstream's iptables cleanup deletes its jump rules one `iptables -D` at a time and then flushes
// and deletes its chains with one restore; it leaves the chains kubelet owns on a real node
// (KUBE-FIREWALL, KUBE-KUBELET-CANARY, ...). The lab has no kubelet: its kube-proxy wrote those
// too, so every KUBE-* chain goes, and one iptables-restore does all of it.
import { BUILTIN_CHAINS, parseIptablesSave, ruleTarget } from '../iptables-save.js';
import { TABLE } from './setup.js';

/**
 * `nft -f` text that deletes `table ip kube-proxy` and everything in it. The `add` first makes it
 * succeed when the table is not there (upstream ignores "not found" the same way).
 */
export function renderNftCleanup(): string {
  return `add table ${TABLE}\ndelete table ${TABLE}\n`;
}

const KUBE_PREFIX = 'KUBE-';
/** Tables in the order they are cleaned: nat's chains may be targets of nothing else; filter and mangle hold canaries. */
const TABLES = ['mangle', 'nat', 'filter', 'raw'] as const;

/**
 * `iptables-restore --noflush` input that, applied to the node whose `iptables-save` output is
 * given, deletes every rule of a built-in chain that jumps to a KUBE-* chain, then flushes and
 * deletes every KUBE-* chain. Rules of other software, and the built-in chains, stay. Empty when
 * iptables mode left nothing. Render it from a fresh iptables-save right before applying it: a
 * `-D` of a rule that is not there fails the whole restore.
 */
export function renderIptablesCleanup(iptablesSave: string): string {
  const ruleset = parseIptablesSave(iptablesSave);
  let out = '';
  for (const name of TABLES) {
    const table = ruleset.get(name);
    if (!table) continue;
    const builtin = new Set(BUILTIN_CHAINS[name] ?? []);
    const kubeChains = [...table.keys()].filter((c) => c.startsWith(KUBE_PREFIX));
    const deletes: string[] = [];
    for (const chain of builtin) {
      for (const r of table.get(chain)?.rules ?? []) {
        if (ruleTarget(r.args)?.startsWith(KUBE_PREFIX)) deletes.push(['-D', chain, ...r.args.map(quoteArg)].join(' '));
      }
    }
    if (deletes.length === 0 && kubeChains.length === 0) continue;
    out += `*${name}\n`;
    // A chain line empties the chain (under --noflush), so no KUBE chain jumps to another by the time of the -X lines.
    for (const c of kubeChains) out += `:${c} - [0:0]\n`;
    for (const d of deletes) out += `${d}\n`;
    for (const c of kubeChains) out += `-X ${c}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/**
 * The iptables tables (as `ip nat`, `ip filter`, ...) that renderIptablesCleanup leaves with no
 * rule and no chain of their own: iptables-nft made them for kube-proxy, and `nft list ruleset`
 * should not show them once it is gone. A table that anything else uses stays.
 */
export function iptablesTablesLeftEmpty(iptablesSave: string): string[] {
  const empty: string[] = [];
  for (const [name, table] of parseIptablesSave(iptablesSave)) {
    const builtin = new Set(BUILTIN_CHAINS[name] ?? []);
    const onlyKube = [...table.values()].every((chain) =>
      builtin.has(chain.name) ? chain.policy === 'ACCEPT' && chain.rules.every((r) => ruleTarget(r.args)?.startsWith(KUBE_PREFIX)) : chain.name.startsWith(KUBE_PREFIX),
    );
    if (onlyKube) empty.push(`ip ${name}`);
  }
  return empty;
}

/** A rule argument as iptables-restore reads it back: quoted when it has a space or a quote. */
function quoteArg(arg: string): string {
  return /[\s"'\\]/.test(arg) || arg === '' ? `"${arg.replace(/(["\\])/g, '\\$1')}"` : arg;
}
