// The small pieces of iptables-restore text every part of the renderer writes: chain lines,
// quoted comments, table sections and kube-proxy's probabilities. Kept in one place so that the
// spelling of a line (which `iptables-save` and students see) is decided once. Mirrors
// utiliptables.MakeChainLine, proxyutil.LineBuffer and computeProbability upstream.

/** `:CHAIN - [0:0]`: in a --noflush restore it creates the chain, or flushes it if it exists. */
export function chainLine(chain: string): string {
  return `:${chain} - [0:0]`;
}

/**
 * A comment argument as upstream writes it: quoted with `"` when kube-proxy quotes it (any
 * comment with a space), bare otherwise (the `ns/name:port` comments of KUBE-SEP chains).
 */
export function quoted(text: string): string {
  return `"${text}"`;
}

/** One rule line, its words joined by single spaces like LineBuffer.Write. */
export function rule(...words: string[]): string {
  return words.join(' ');
}

export type TableName = 'filter' | 'nat' | 'mangle';

/** One table's part of a restore input: `*table`, chain lines, rule lines, `COMMIT`. */
export function tableSection(table: TableName, chainLines: readonly string[], ruleLines: readonly string[]): string {
  let out = `*${table}\n`;
  if (chainLines.length) out += chainLines.join('\n') + '\n';
  if (ruleLines.length) out += ruleLines.join('\n') + '\n';
  return out + 'COMMIT\n';
}

const probabilities: string[] = [];

/**
 * `--probability` of the i-th of n endpoints: 1/(n-i), written like Go's `%0.10f`. Go rounds an
 * exact tie to even where JavaScript's toFixed rounds it up; 1/2048 is the one value where that
 * shows, so the decimal is computed exactly. Cached, as upstream precomputes them.
 */
export function probability(n: number): string {
  let text = probabilities[n];
  if (text === undefined) {
    text = fixed10(1 / n);
    probabilities[n] = text;
  }
  return text;
}

/** The exact value of a double in [0, 1], rounded half-to-even to 10 decimals. */
function fixed10(x: number): string {
  if (x === 1) return '1.0000000000';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  if (biasedExponent !== 0) mantissa |= 1n << 52n;
  // x = mantissa / 2^shift
  const shift = BigInt(1075 - (biasedExponent === 0 ? 1 : biasedExponent));
  const scaled = mantissa * 10n ** 10n;
  const divisor = 1n << shift;
  let q = scaled / divisor;
  const twiceRemainder = (scaled % divisor) * 2n;
  if (twiceRemainder > divisor || (twiceRemainder === divisor && q % 2n === 1n)) q += 1n;
  const digits = q.toString().padStart(11, '0');
  return `${digits.slice(0, -10)}.${digits.slice(-10)}`;
}
