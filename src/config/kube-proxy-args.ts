// What knetlab reads from `kube-proxy-arg` (k3s passes these flags to its embedded kube-proxy):
// the proxy mode and the sync period. Every other flag is accepted and
// ignored with a warning (rules.ts). Pure; the values were validated before any of this runs.
import { parseDuration } from './duration.js';
import type { ProxyMode } from './types.js';

const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];
const DEFAULT_SYNC_PERIOD_MS = 30_000;

export function isProxyMode(value: string): value is ProxyMode {
  return (PROXY_MODES as readonly string[]).includes(value);
}

/** `--proxy-mode` (kube-proxy's default on Linux: iptables). The last one given wins, as with Go flags. */
export function proxyModeOf(kubeProxyArgs: readonly string[]): ProxyMode {
  const value = flagValue(kubeProxyArgs, 'proxy-mode');
  return value !== undefined && isProxyMode(value) ? value : 'iptables';
}

/** `--iptables-sync-period` (default 30 s), the longest time between two syncs: knetlab honours it in both modes. */
export function proxySyncPeriodMs(kubeProxyArgs: readonly string[]): number {
  const value = flagValue(kubeProxyArgs, 'iptables-sync-period');
  return (value !== undefined && parseDuration(value)) || DEFAULT_SYNC_PERIOD_MS;
}

function flagValue(kubeProxyArgs: readonly string[], name: string): string | undefined {
  let found: string | undefined;
  for (const arg of kubeProxyArgs) {
    const eq = arg.indexOf('=');
    if (eq > 0 && arg.slice(0, eq).replace(/^--?/, '') === name) found = arg.slice(eq + 1);
  }
  return found;
}
