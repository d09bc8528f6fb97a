// IPv4 CIDR arithmetic for planning: validation through ip-cidr, then plain 32-bit integers,
// because the planners need "the n-th /24 of 10.42.0.0/16" and "the .1 of it", not ranges of strings.
import IPCIDR from 'ip-cidr';

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
  /** Number of addresses, 2^(32-prefix). */
  size: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Parses `A.B.C.D/N`; returns undefined when it is not a valid IPv4 CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, bits, ...rest] = text.split('/');
  if (rest.length || !address || !bits || !isIPv4(address) || !/^\d{1,2}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > 32 || !IPCIDR.isValidCIDR(text)) return undefined;
  const size = 2 ** (32 - prefix);
  return { base: ipToInt(address) - (ipToInt(address) % size), prefix, size };
}

/** True when the address bits beyond the prefix are zero (10.42.0.0/16, not 10.42.1.0/16). */
export function isNetworkAddress(text: string): boolean {
  const c = parseCidr(text);
  return c !== undefined && ipToInt(text.split('/')[0]!) === c.base;
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function contains(c: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + c.size;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** The n-th address of the block: nth(10.42.1.0/24, 1) = 10.42.1.1. */
export function nth(c: Cidr, n: number): string {
  if (n < 0 || n >= c.size) throw new RangeError(`address #${n} is outside ${formatCidr(c)}`);
  return intToIp(c.base + n);
}

/** The n-th subnet of the given prefix inside the block: subnet(10.42.0.0/16, 24, 3) = 10.42.3.0/24. */
export function subnet(c: Cidr, prefix: number, n: number): Cidr {
  const size = 2 ** (32 - prefix);
  if (prefix < c.prefix || n < 0 || (n + 1) * size > c.size) throw new RangeError(`subnet #${n} /${prefix} is outside ${formatCidr(c)}`);
  return { base: c.base + n * size, prefix, size };
}

/** Offset of an address inside the block (the inverse of nth). */
export function offsetOf(c: Cidr, ip: string): number {
  return ipToInt(ip) - c.base;
}
