// Reads the manifests named by `-f` as kubectl does: a file, a directory (its *.yaml, *.yml and
// *.json files in name order, not recursively) or `-` for stdin. Every file is read and checked
// before anything is reported, so one run shows every problem in every file.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import { KnetlabError, UsageError } from '../errors.js';
import { finishManifests, readManifestText, type ParsedManifests } from './parse.js';
import type { LocatedManifest } from './validate.js';

export const STDIN_SOURCE = '-';
const STDIN_NAME = '<stdin>';
const MANIFEST_FILE = /\.(yaml|yml|json)$/;

export interface LoadOptions {
  /** Where `-` reads from; the process's stdin unless a test supplies text. */
  readStdin?: () => Promise<string>;
}

interface ManifestFile {
  name: string;
  read: () => Promise<string>;
}

/** Throws UsageError for a missing path, InvalidInputError with the problems of all files. */
export async function loadManifests(sources: string[], options: LoadOptions = {}): Promise<ParsedManifests> {
  const files = await listManifestFiles(sources, options.readStdin ?? readProcessStdin);
  const texts = await Promise.all(files.map((file) => file.read()));
  const manifests: LocatedManifest[] = [];
  const diagnostics: Diagnostic[] = [];
  files.forEach((file, i) => {
    const found = readManifestText(texts[i]!, file.name);
    manifests.push(...found.manifests);
    diagnostics.push(...found.diagnostics);
  });
  return finishManifests(manifests, diagnostics);
}

async function listManifestFiles(sources: string[], readStdin: () => Promise<string>): Promise<ManifestFile[]> {
  if (sources.filter((s) => s === STDIN_SOURCE).length > 1) throw new UsageError(`"-" (stdin) can be given only once`);
  const files: ManifestFile[] = [];
  for (const source of sources) {
    if (source === STDIN_SOURCE) {
      files.push({ name: STDIN_NAME, read: readStdin });
      continue;
    }
    const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new UsageError(`no such file or directory: ${source}`, { hint: 'check the path given to -f' });
      throw new KnetlabError(`cannot read ${source}: ${error.message}`, { cause: error });
    });
    if (!info.isDirectory()) {
      files.push(fileAt(source));
      continue;
    }
    const names = (await readdir(source, { withFileTypes: true })).filter((e) => !e.isDirectory() && MANIFEST_FILE.test(e.name)).map((e) => e.name);
    if (names.length === 0) throw new UsageError(`directory ${source} has no *.yaml, *.yml or *.json files`, { hint: 'point -f at the directory that holds the manifests' });
    files.push(...names.sort().map((name) => fileAt(join(source, name))));
  }
  return files;
}

function fileAt(path: string): ManifestFile {
  return {
    name: path,
    read: () => readFile(path, 'utf8').catch((error: Error) => {
      throw new KnetlabError(`cannot read ${path}: ${error.message}`, { cause: error });
    }),
  };
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
