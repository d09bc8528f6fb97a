// Collects the problems of one manifest file while its objects are checked. A Reporter is bound to
// one YAML document and, for the items of a `kind: List`, to the path of the item inside it, so the
// checkers speak in object-relative paths and every diagnostic still lands on the right line.
import { isScalar, type Document } from 'yaml';
import { SourceMap, formatPath, type Diagnostic, type PathSegment } from '../diagnostics.js';

export type Path = readonly PathSegment[];

export interface SourceLocation {
  file: string;
  line: number;
  col: number;
  path: string;
}

export class Reporter {
  private constructor(
    private readonly map: SourceMap,
    private readonly doc: Document,
    private readonly base: Path,
    readonly diagnostics: Diagnostic[],
  ) {}

  static forDocument(map: SourceMap, doc: Document, diagnostics: Diagnostic[]): Reporter {
    return new Reporter(map, doc, [], diagnostics);
  }

  /** A reporter for the object found at `path` below this one (an item of a List). */
  within(path: Path): Reporter {
    return new Reporter(this.map, this.doc, [...this.base, ...path], this.diagnostics);
  }

  get errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }

  error(path: Path, message: string, fix: string, at: 'value' | 'key' = 'value'): void {
    this.diagnostics.push(this.map.diagnostic([...this.base, ...path], message, fix, { at }));
  }

  warn(path: Path, message: string, fix: string, at: 'value' | 'key' = 'value'): void {
    this.diagnostics.push(this.map.diagnostic([...this.base, ...path], message, fix, { at, severity: 'warning' }));
  }

  /** Where the value at `path` starts, for messages that point back at another definition. */
  location(path: Path = []): SourceLocation {
    const full = [...this.base, ...path];
    return { file: this.map.file, ...this.map.position(full), path: formatPath(full) };
  }

  /** The scalar exactly as written in the file (`yes`, `1.10`), when the value at `path` is one. */
  sourceText(path: Path): string | undefined {
    const node: unknown = this.doc.getIn([...this.base, ...path], true);
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  }
}
