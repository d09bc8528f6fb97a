// Name and address helpers for the cluster DNS. They are kept apart from records.ts so that the
// record rules read like CoreDNS's kubernetes plugin, while the fiddly parts (which zone a name is
// in, reverse names, the dashed IPs of pod and endpoint names) are tested through them in one place.
import { isIPv4, isIPv6 } from 'node:net';

/** The zones the kubernetes plugin is authoritative for in k3s's Corefile, besides the cluster domain. */
export const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'] as const;

/** A name without its trailing dot; the root is ''. dns-packet decodes names without the dot. */
export function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The longest zone `name` (lower case, no trailing dot) is in, or undefined: CoreDNS's plugin.Zones.Matches. */
export function matchZone(name: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const zone of zones) {
    if ((name === zone || name.endsWith(`.${zone}`)) && (best === undefined || zone.length > best.length)) best = zone;
  }
  return best;
}

/** `name` with `.zone` (or the whole zone) cut off the end: dnsutil.TrimZone. */
export function trimZone(name: string, zone: string): string {
  return name === zone ? '' : name.slice(0, name.length - zone.length - 1);
}

/**
 * An IPv6 address written out in full (8 groups of 4 lower-case hex digits), so that addresses
 * written differently compare equal; IPv4 addresses are returned as they are. undefined if not an IP.
 */
export function canonicalIP(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip) || ip.includes('%')) return undefined;
  let s = ip.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

/**
 * The address a reverse name stands for, or '' when the name is not a complete one (like
 * dnsutil.ExtractAddressFromReverse): `4.3.2.1.in-addr.arpa` -> `1.2.3.4`, 32 nibbles under ip6.arpa.
 */
export function addressFromReverse(name: string): string {
  if (name.endsWith('.in-addr.arpa')) {
    const ip = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    return isIPv4(ip) ? ip : '';
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.').reverse();
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return '';
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(nibbles.slice(i, i + 4).join(''));
    return canonicalIP(groups.join(':')) ?? '';
  }
  return '';
}

/**
 * The first label of an endpoint's name: its hostname if it has one (a pod with spec.hostname and
 * spec.subdomain), else its IP with dashes (CoreDNS's endpointHostname; endpoint_pod_names is off in k3s).
 */
export function endpointLabel(ip: string, hostname?: string): string {
  if (hostname) return hostname;
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  if (ip.includes(':')) return ip.replaceAll(':', '-');
  return '';
}

/**
 * The IP a pod name like `10-42-0-5` stands for, or undefined. As CoreDNS does it: three dashes and
 * no `--` is IPv4, anything else is tried as IPv6 with every dash a colon (`fd00--5` -> `fd00::5`).
 */
export function podNameToIP(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const ip = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return isIPv4(ip) || isIPv6(ip) ? ip : undefined;
}

/** Whether dns-packet can re-encode `name` as it was sent: labels of 1-63 bytes, 255 bytes in all. */
export function isEncodableName(name: string): boolean {
  if (name === '.' || name === '') return true;
  const labels = stripDot(name).split('.');
  let length = 1;
  for (const label of labels) {
    const bytes = Buffer.byteLength(label);
    if (bytes === 0 || bytes > 63) return false;
    length += bytes + 1;
  }
  return length <= 255;
}
