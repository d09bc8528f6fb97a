// Step 1 of reading config.yaml: text -> YAML document with positions. Every later problem is
// reported at a line and column, so the document (not just the plain object) is kept, and YAML
// syntax errors are turned into the same Diagnostic shape as every other problem.
import { LineCounter, isNode, parseDocument, type YAMLError } from 'yaml';
import { SourceMap, type Diagnostic, type PathSegment } from '../diagnostics.js';

export interface ParsedYaml {
  /** The top-level mapping as plain data; undefined when the file could not be read as one. */
  data: Record<string, unknown> | undefined;
  sourceMap: SourceMap;
  /** The text the user wrote for the value at `path` (e.g. `1.0` where the data holds 1). */
  sourceText(path: readonly PathSegment[]): string | undefined;
  diagnostics: Diagnostic[];
}

const SYNTAX_FIXES: Record<string, string> = {
  DUPLICATE_KEY: 'keep one of the two entries with this key and delete the other',
  BAD_INDENT: 'line this up with the other keys at the same level (YAML nesting is done with spaces)',
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  MISSING_CHAR: 'add what is missing here (a closing quote or bracket, or the `- ` of a list item) and check the indentation',
  MULTIPLE_DOCS: 'keep a single document: remove the `---` separator and what follows it, or merge them',
  BLOCK_AS_IMPLICIT_KEY: 'put a space after the colon and check the indentation of this line',
  MULTILINE_IMPLICIT_KEY: 'put a space after the colon and check the indentation of this line',
};

export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const sourceMap = new SourceMap(file, doc, lines);
  const sourceText = (path: readonly PathSegment[]): string | undefined => {
    const node = doc.getIn(path, true);
    const range = isNode(node) ? node.range : undefined;
    return range ? text.slice(range[0], range[1]) : undefined;
  };
  const result = (data: Record<string, unknown> | undefined, diagnostics: Diagnostic[] = []): ParsedYaml => ({ data, sourceMap, sourceText, diagnostics });

  // Syntax errors make every position after them unreliable, so they are reported alone.
  if (doc.errors.length > 0) return result(undefined, doc.errors.map((e) => syntaxDiagnostic(e, file, lines)));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // toJS throws for an alias to an anchor that does not exist, or for an alias bomb.
    const message = err instanceof Error ? err.message : String(err);
    return result(undefined, [{ file, line: 1, col: 1, path: '', message: `the YAML could not be resolved: ${message}`, fix: 'define each anchor (&name) before the alias (*name) that uses it', severity: 'error' }]);
  }

  // An empty file, or one with only comments, means "all defaults".
  if (data === null || data === undefined) return result({});
  if (typeof data !== 'object' || Array.isArray(data)) {
    const got = Array.isArray(data) ? 'a list' : `a ${typeof data} (${JSON.stringify(data)})`;
    return result(undefined, [
      sourceMap.diagnostic([], `the top level of the file must be a mapping of settings, but it is ${got}`, 'write one `key: value` per line, e.g. `cluster-cidr: 10.42.0.0/16`'),
    ]);
  }
  return result(data as Record<string, unknown>);
}

function syntaxDiagnostic(error: YAMLError, file: string, lines: LineCounter): Diagnostic {
  const { line, col } = lines.linePos(error.pos[0]);
  const message = `YAML syntax error: ${error.message.replace(/\s+at line \d+, column \d+.*$/s, '')}`;
  const fix = SYNTAX_FIXES[error.code] ?? 'fix the YAML syntax here (indent with spaces, one `key: value` per line, quote values containing `: ` or `#`)';
  return { file, line, col, path: '', message, fix, severity: 'error' };
}
