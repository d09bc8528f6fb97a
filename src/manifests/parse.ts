// Reads the text of one manifest file (multi-document YAML, or JSON) into the manifests the lab
// handles, with every problem of the file tied to its line and column. YAML is read as YAML 1.1,
// as kubectl reads it, so an unquoted `yes` is the boolean it is on a real cluster.
import { LineCounter, parseAllDocuments, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type Tags, type YAMLError } from 'yaml';
import type { Manifest } from '../api/types.js';
import { SourceMap, type Diagnostic } from '../diagnostics.js';
import { InvalidInputError } from '../errors.js';
import { Reporter } from './report.js';
import { validateDocument, type LocatedManifest } from './validate.js';

export interface ParsedManifests {
  objects: Manifest[];
  warnings: Diagnostic[];
}

/** Parses one file's text; throws InvalidInputError listing every problem of the file. */
export function parseManifests(text: string, file: string): ParsedManifests {
  const { manifests, diagnostics } = readManifestText(text, file);
  return finishManifests(manifests, diagnostics);
}

/** Everything found in one file, problems included, without throwing: loaders combine several files. */
export function readManifestText(text: string, file: string): { manifests: LocatedManifest[]; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const manifests: LocatedManifest[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const doc of parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter })) {
    const toDiagnostic = (problem: YAMLError, severity: Diagnostic['severity']): Diagnostic => {
      const { line, col } = lineCounter.linePos(problem.pos[0]);
      return { file, line, col, path: '', message: problem.message, fix: YAML_FIXES[problem.code] ?? 'fix the YAML syntax here', severity };
    };
    diagnostics.push(...doc.warnings.map((w) => toDiagnostic(w, 'warning')));
    if (doc.errors.length > 0) {
      diagnostics.push(...doc.errors.map((e) => toDiagnostic(e, 'error'))); // the document's structure cannot be trusted
      continue;
    }
    const value = documentValue(doc, file, lineCounter, diagnostics);
    manifests.push(...validateDocument(value, Reporter.forDocument(new SourceMap(file, doc, lineCounter), doc, diagnostics)));
  }
  diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  return { manifests, diagnostics };
}

/** The result of reading one or more files: throws when any problem is an error, else warns of duplicates. */
export function finishManifests(manifests: LocatedManifest[], diagnostics: Diagnostic[]): ParsedManifests {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InvalidInputError(errors);
  return { objects: manifests.map((m) => m.object), warnings: [...diagnostics, ...duplicateWarnings(manifests)] };
}

/** The same object defined twice: the later definition wins, as with `kubectl apply`. */
function duplicateWarnings(manifests: LocatedManifest[]): Diagnostic[] {
  const seen = new Map<string, LocatedManifest>();
  const warnings: Diagnostic[] = [];
  for (const manifest of manifests) {
    const { kind, metadata } = manifest.object;
    const id = `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`;
    const earlier = seen.get(id);
    if (earlier) {
      const { file, line, col } = earlier.location;
      warnings.push({ ...manifest.location, severity: 'warning', message: `${id} is defined again; it replaces the definition at ${file}:${line}:${col}`, fix: 'remove one of the two definitions' });
    }
    seen.set(id, manifest);
  }
  return warnings;
}

function documentValue(doc: Document, file: string, lineCounter: LineCounter, diagnostics: Diagnostic[]): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    // yaml refuses documents whose aliases expand exponentially ("billion laughs").
    const { line, col } = lineCounter.linePos(doc.range?.[0] ?? 0);
    diagnostics.push({ file, line, col, path: '', message: (error as Error).message, fix: 'write the values out instead of using so many aliases', severity: 'error' });
    return undefined;
  }
}

/**
 * kubectl's YAML 1.1 minus what its decoder keeps as strings: timestamps (`2024-01-01`) and
 * base-60 numbers (`12:30`).
 */
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  // The library's own warnings (e.g. a map used as a key) would print to stderr; the validators
  // report such input as errors with positions instead.
  logLevel: 'error',
  prettyErrors: false,
  customTags: (tags: Tags) => tags.filter((tag) => typeof tag === 'string' || (tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME')),
};

const YAML_FIXES: Partial<Record<YAMLError['code'], string>> = {
  DUPLICATE_KEY: 'remove or rename one of the two keys',
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  BAD_INDENT: 'indent the line with spaces to line up with the other keys at its level',
  MISSING_CHAR: 'add the missing closing character',
  MULTILINE_IMPLICIT_KEY: "put each key and its ':' on one line; quote values that contain ': '",
  BLOCK_AS_IMPLICIT_KEY: "put each key and its ':' on one line; quote values that contain ': '",
  UNEXPECTED_TOKEN: 'quote values that start with a special character such as * & ! | > % @ or `',
  BAD_ALIAS: 'define the anchor (&name) before using the alias (*name)',
};
