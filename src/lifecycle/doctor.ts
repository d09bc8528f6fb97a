// `knetlab doctor`, and the same checks at the start of `up`: is this machine able to run a lab,
// and if not, which command fixes it. Checks only read; they never change anything.
import { existsSync } from 'node:fs';
import { run } from '../kernel/exec.js';
import { loadSetnsAddon } from '../kernel/netns.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** The command that fixes it. */
  fix?: string;
}

const APT = 'apt-get install -y';

async function hasProgram(argv: string[]): Promise<string | undefined> {
  try {
    const r = await run(argv, { allowFailure: true });
    // The first line of --version, cut after the version: curl's runs on for a screen.
    return r.exitCode === 0 ? (r.stdout || r.stderr).split('\n')[0]!.split(' ').slice(0, 4).join(' ') : undefined;
  } catch {
    return undefined;
  }
}

export async function runChecks(): Promise<Check[]> {
  const isRoot = process.getuid?.() === 0;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const programs: [string, string[], string][] = [
    ['iproute2', ['ip', '-V'], 'iproute2'],
    ['iptables', ['iptables', '--version'], 'iptables'],
    ['curl', ['curl', '--version'], 'curl'],
    // By full path: under npm scripts, node_modules/.bin holds an unrelated `nft` (Node File Trace).
    ['nftables', ['/usr/sbin/nft', '--version'], 'nftables'],
    ['conntrack', ['conntrack', '--version'], 'conntrack'],
    ['tcpdump', ['tcpdump', '--version'], 'tcpdump'],
    ['dig', ['dig', '-v'], 'dnsutils'],
    ['python3', ['python3', '--version'], 'python3'],
  ];
  const found = await Promise.all(programs.map(([, argv]) => hasProgram(argv)));
  let addon: string | undefined;
  try {
    loadSetnsAddon();
  } catch (err) {
    addon = (err as Error).message;
  }
  return [
    { name: 'root', ok: isRoot, detail: isRoot ? 'running as root' : 'not running as root', fix: 'run knetlab with sudo' },
    { name: 'node', ok: major > 20 || (major === 20 && minor >= 19), detail: `Node.js ${process.versions.node} (needs >= 20.19)`, fix: 'install Node.js 20.19 or newer' },
    ...programs.map(([name, , pkg], i): Check => ({ name, ok: !!found[i], detail: found[i] ?? `${name} not found`, fix: `${APT} ${pkg}` })),
    {
      name: 'network namespaces',
      ok: existsSync('/proc/self/ns/net'),
      detail: existsSync('/proc/self/ns/net') ? 'supported by the kernel' : 'the kernel has no network namespaces',
      fix: 'use a kernel built with CONFIG_NET_NS',
    },
    {
      name: 'br_netfilter',
      ok: existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables'),
      detail: existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables') ? 'bridged traffic passes iptables' : 'module br_netfilter is not loaded',
      fix: 'modprobe br_netfilter',
    },
    { name: 'setns addon', ok: !addon, detail: addon ?? 'native/setns.c is built', fix: 'npm ci (builds native/setns.c; needs make, g++, python3)' },
  ];
}

export function failedChecks(checks: Check[]): Check[] {
  return checks.filter((c) => !c.ok);
}
