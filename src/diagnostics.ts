// Problems found in a user's file, each tied to the place in the file that caused it, so that
// every error can be printed as `file:line:col path: what is wrong — how to fix`.
import { LineCounter, isNode, type Document, type Node } from 'yaml';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
  /** Dotted path of the offending key, as the user wrote it: `nodes[1].name`, `cluster-cidr`. */
  path: string;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  fix: string;
  severity: Severity;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.path ? ` ${d.path}:` : '';
  const prefix = d.severity === 'warning' ? ' warning:' : '';
  return `${d.file}:${d.line}:${d.col}${prefix}${where} ${d.message} — ${d.fix}`;
}

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/**
 * Locates paths inside one parsed YAML document. `keyOf` points at the key rather than the value,
 * which is where an "unknown key" problem lives.
 */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  position(path: readonly PathSegment[], at: 'value' | 'key' = 'value'): { line: number; col: number } {
    // Walk down as far as the path exists; a missing key reports at its parent.
    let node: unknown = this.doc.contents;
    let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
    for (const seg of path) {
      const found = childOf(node, seg);
      if (!found) break;
      node = found.value;
      const target = at === 'key' && seg === path[path.length - 1] ? found.key : found.value;
      offset = (isNode(target) ? target.range?.[0] : undefined) ?? offset;
    }
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  diagnostic(path: readonly PathSegment[], message: string, fix: string, options: { at?: 'value' | 'key'; severity?: Severity } = {}): Diagnostic {
    const { line, col } = this.position(path, options.at);
    return { file: this.file, line, col, path: formatPath(path), message, fix, severity: options.severity ?? 'error' };
  }
}

function childOf(node: unknown, seg: PathSegment): { key: unknown; value: unknown } | undefined {
  const items = (node as { items?: unknown[] } | undefined)?.items;
  if (!Array.isArray(items)) return undefined;
  if (typeof seg === 'number') {
    const value = items[seg];
    return value === undefined ? undefined : { key: value, value };
  }
  for (const pair of items as { key?: unknown; value?: unknown }[]) {
    const k = pair.key as Node | undefined;
    const name = isNode(k) ? (k as { value?: unknown }).value : k;
    if (String(name) === seg) return { key: pair.key, value: pair.value ?? pair.key };
  }
  return undefined;
}

export { LineCounter };
