// Shared by the end-to-end tests: run the built CLI, give each test its own lab, and prove that
// a lab leaves nothing behind (namespaces, state directory, agent process) once it is down.
import test, { type ExecutionContext, type TestFn } from 'ava';
import { execa, type Result } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}bin/run.js`;

/** End-to-end tests need root; outside CI they are skipped without it, in CI they must run. */
export const e2e: TestFn = process.getuid?.() === 0 || process.env.CI ? test : (test.skip as unknown as TestFn);

let counter = 0;
/** A lab name unique to this test process, so that test files can run side by side. */
export function uniqueLab(purpose: string): string {
  return `t-${purpose}-${process.pid % 100000}-${counter++}`.slice(0, 32).replace(/-+$/, '');
}

export type CliResult = Result<{ reject: false }>;

export function knetlab(args: string[], options: { input?: string } = {}): Promise<CliResult> {
  return execa(process.execPath, [CLI, ...args], { reject: false, input: options.input, env: { KNETLAB_LAB: '' } }) as Promise<CliResult>;
}

/** Runs the CLI and fails the test with its output when it does not exit 0. */
export async function ok(t: ExecutionContext, args: string[], options: { input?: string } = {}): Promise<CliResult> {
  const r = await knetlab(args, options);
  if (r.exitCode !== 0) t.fail(`knetlab ${args.join(' ')} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export function labNamespaces(lab: string): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`kn.${lab}.`)) : [];
}

/** Processes whose command line names this lab's agent. */
export function agentProcesses(lab: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes('agent/main')) && argv.includes(lab)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export function leftovers(lab: string): string[] {
  const found: string[] = [];
  const ns = labNamespaces(lab);
  if (ns.length) found.push(`namespaces: ${ns.join(' ')}`);
  if (existsSync(`/run/knetlab/${lab}`)) found.push(`state directory /run/knetlab/${lab}`);
  const pids = agentProcesses(lab);
  if (pids.length) found.push(`agent processes: ${pids.join(' ')}`);
  return found;
}

/** Registers the lab's teardown, which runs even when the test fails. */
export function useLab(t: ExecutionContext, purpose: string): string {
  const lab = uniqueLab(purpose);
  t.teardown(async () => {
    await knetlab(['down', '--lab', lab]);
  });
  return lab;
}

export interface PodJson {
  metadata: { name: string; namespace: string; uid: string };
  spec: { nodeName: string; containers: unknown[] };
  status: { phase: string; podIP: string; hostIP: string };
}

export async function getPods(t: ExecutionContext, lab: string): Promise<PodJson[]> {
  const r = await ok(t, ['get', 'pods', '--lab', lab, '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: PodJson[] }).items;
}

/** `curl` run inside a pod's namespace. */
export async function curlInPod(lab: string, pod: string, url: string): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', `kn.${lab}.pod.default.${pod}`, 'curl', '-sS', '--max-time', '3', url], { reject: false });
  return r.exitCode === 0 ? r.stdout : `curl failed (${r.exitCode}): ${r.stderr}`;
}

/** Writes a file in a fresh temporary directory (a config or manifest for one test). */
export function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'knetlab-')), name);
  writeFileSync(file, text);
  return file;
}

/** kube-proxy's modes: the Services and DNS tests run in each. */
export const PROXY_MODES = ['iptables', 'nftables'] as const;
export type ProxyModeName = (typeof PROXY_MODES)[number];

/** A config.yaml for `up -c` that runs kube-proxy in MODE, plus any other keys. */
export function proxyModeConfig(mode: ProxyModeName, extra = ''): string {
  return tempFile('config.yaml', `kube-proxy-arg: [proxy-mode=${mode}]\n${extra}`);
}

/** A node's Service rules as text: the nat table in iptables mode, `table ip kube-proxy` in nftables mode. */
export async function proxyRules(lab: string, node: string, mode: ProxyModeName): Promise<string> {
  const argv = mode === 'iptables' ? ['iptables-save', '-t', 'nat'] : ['/usr/sbin/nft', 'list', 'table', 'ip', 'kube-proxy'];
  return (await execa('ip', ['netns', 'exec', `kn.${lab}.node.${node}`, ...argv])).stdout;
}

let scratchCounter = 0;
/** An empty network namespace `kn.t-PURPOSE-PID-N` for one test, deleted when it ends, pass or fail. */
export async function scratchNamespace(t: ExecutionContext, purpose: string): Promise<string> {
  const ns = `kn.t-${purpose}-${process.pid}-${scratchCounter++}`;
  await execa('ip', ['netns', 'add', ns]);
  t.teardown(async () => {
    await execa('ip', ['netns', 'delete', ns], { reject: false });
  });
  return ns;
}
