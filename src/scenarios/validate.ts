// Checking a scenario.yaml: zod's verdict turned into `file:line:col path: what — fix` lines, then
// the rules zod cannot express (names that refer to each other, files that must exist, hints in
// both languages). A step or check names its kind by its one key, so when zod says "none of the
// branches matched" we look at which key the author wrote and report that branch's problems, or
// the key that is missing or misspelt, instead of every branch's complaints at once.
import type { z } from 'zod';
import type { Diagnostic, PathSegment, SourceMap } from '../diagnostics.js';
import { closestMatch } from '../manifests/vocabulary.js';
import { answersNamed, factsNamed } from './lab.js';
import { CHECK_KINDS, PREDICATE_KINDS, STEP_KINDS, scenarioFileSchema, type ScenarioFile, type Step } from './schema.js';

const FORMAT = 'see scenarios/README.md for the format';
/** Keys every check or wait step may have besides its kind. */
const SHARED_KEYS = ['name', 'description', 'hideDetail', 'timeout'];

export function validateScenarioData(data: unknown, sourceMap: SourceMap): { scenario?: ScenarioFile; diagnostics: Diagnostic[] } {
  const parsed = scenarioFileSchema.safeParse(data);
  if (!parsed.success) return { diagnostics: parsed.error.issues.flatMap((issue) => toDiagnostics(issue, [], data, sourceMap)) };
  return { scenario: parsed.data, diagnostics: [] };
}

/** The vocabulary of one-key objects at this path: checks, steps and wait conditions. */
function kindsAt(path: readonly PathSegment[]): readonly string[] | undefined {
  const [top, , inner] = path;
  if (top === 'checks' && path.length === 2) return CHECK_KINDS;
  if ((top === 'setup' || top === 'solve') && path.length === 2) return STEP_KINDS;
  if ((top === 'setup' || top === 'solve') && inner === 'wait' && path.length === 3) return [...PREDICATE_KINDS, 'check'];
  return undefined;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  return path.reduce<unknown>((v, seg) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined), data);
}

/** True when this branch's problems say that `kind` is not one of its keys. */
function rejectsKind(branch: z.core.$ZodIssue[], kind: string): boolean {
  return branch.some(
    (i) => (i.code === 'unrecognized_keys' && i.path.length === 0 && i.keys.includes(kind)) || (i.code === 'invalid_type' && i.path.length === 1 && i.path[0] === kind),
  );
}

function toDiagnostics(issue: z.core.$ZodIssue, prefix: readonly PathSegment[], data: unknown, map: SourceMap): Diagnostic[] {
  const path = [...prefix, ...(issue.path as PathSegment[])];
  const where = (p: readonly PathSegment[], message: string, fix = FORMAT, at: 'key' | 'value' = 'value') => map.diagnostic(p, message, fix, { at });
  switch (issue.code) {
    case 'invalid_union': {
      const value = valueAt(data, path);
      const kinds = kindsAt(path);
      if (kinds && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const keys = Object.keys(value);
        const written = keys.filter((k) => kinds.includes(k));
        if (written.length !== 1) {
          const guesses = keys.map((k) => closestMatch(k, kinds)).filter((g): g is string => !!g && !written.includes(g));
          const own = keys.filter((k) => !SHARED_KEYS.includes(k));
          const found = written.length ? `it has ${written.join(' and ')}` : own.length ? `it has ${own.join(', ')}` : 'it has none';
          return [where(path, `needs exactly one of ${kinds.join(', ')}; ${found}`, guesses.length ? `did you mean \`${guesses[0]}\`?` : FORMAT)];
        }
        const branch = issue.errors.find((b) => !rejectsKind(b, written[0]!));
        if (branch) return branch.flatMap((i) => toDiagnostics(i, path, data, map));
      }
      // Another union (a string or a list, ...): the branch with the fewest problems is the one meant.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      return best.length ? best.flatMap((i) => toDiagnostics(i, path, data, map)) : [where(path, issue.message)];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        // At the top level every key is known; deeper, the one-key rules above name the kinds.
        const guess = path.length === 0 ? closestMatch(key, Object.keys(scenarioFileSchema.shape)) : undefined;
        return where([...path, key], `unknown key "${key}"`, guess ? `did you mean \`${guess}\`?` : FORMAT, 'key');
      });
    case 'invalid_type':
      if (valueAt(data, path) === undefined) return [where(path, `missing ${String(path[path.length - 1] ?? 'value')} (${issue.expected})`, `add it; ${FORMAT}`, 'key')];
      return [where(path, `expected ${issue.expected}`)];
    default:
      return [where(path, issue.message.replace(/^Invalid input: /, ''))];
  }
}

// --- Rules over a parsed scenario ---

export interface FolderView {
  folder: string;
  /** Whether the folder holds a non-empty file of this name. */
  hasFile(name: string): boolean;
}

export function scenarioRules(s: ScenarioFile, view: FolderView, map: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (path: PathSegment[], message: string, fix: string) => out.push(map.diagnostic(path, message, fix));
  if (s.id !== view.folder) at(['id'], `id "${s.id}" differs from the folder name "${view.folder}"`, `rename one so that both read the same`);
  for (const lang of ['en', 'zh'] as const) {
    if (!view.hasFile(`${lang}.md`)) at([], `${lang}.md is missing or empty`, `write the task as a student reads it in ${view.folder}/${lang}.md`);
  }
  if (s.hints.en.length !== s.hints.zh.length) at(['hints'], `${s.hints.en.length} English hints but ${s.hints.zh.length} Chinese ones`, 'give every hint in both languages, in the same order');
  if (typeof s.config === 'string' && !view.hasFile(s.config)) at(['config'], `config file "${s.config}" not found in the folder`, 'put it next to scenario.yaml, or write the config inline as a mapping');
  s.manifests.forEach((m, i) => {
    if (!view.hasFile(m)) at(['manifests', i], `manifest "${m}" not found in the folder`, 'put it next to scenario.yaml');
  });

  const quizIds = s.quiz.map((q) => q.id);
  const checkNames = s.checks.map((c) => c.name);
  duplicates(quizIds).forEach((id) => at(['quiz'], `quiz id "${id}" is used twice`, 'give each question its own id'));
  duplicates(checkNames).forEach((name) => at(['checks'], `check name "${name}" is used twice`, 'give each check its own name'));
  s.checks.forEach((c, i) => {
    if ('quiz' in c && !quizIds.includes(c.quiz)) at(['checks', i, 'quiz'], `no quiz entry "${c.quiz}"`, `use one of: ${quizIds.join(', ') || '(none; add a quiz entry)'}`);
  });
  s.quiz.forEach((q, i) => {
    if (!s.checks.some((c) => 'quiz' in c && c.quiz === q.id)) at(['quiz', i], `no check asks for quiz "${q.id}"`, `add \`- {name: ${q.id}, quiz: ${q.id}}\` to checks`);
    if (!s.solve.some((st) => 'answer' in st && st.answer.quiz === q.id)) at(['quiz', i], `solve does not answer quiz "${q.id}"`, `add \`- answer: {quiz: ${q.id}, value: ${q.accept[0]}}\` to solve`);
  });
  const stepRules = (steps: Step[], list: 'setup' | 'solve') =>
    steps.forEach((st, i) => {
      if ('answer' in st && !quizIds.includes(st.answer.quiz)) at([list, i, 'answer', 'quiz'], `no quiz entry "${st.answer.quiz}"`, `use one of: ${quizIds.join(', ')}`);
      if ('wait' in st && 'check' in st.wait && !checkNames.includes(st.wait.check)) at([list, i, 'wait', 'check'], `no check named "${st.wait.check}"`, `use one of: ${checkNames.join(', ')}`);
      if ('wait' in st && 'check' in st.wait && list === 'setup') at([list, i, 'wait', 'check'], 'setup cannot wait for a check: facts are recorded after setup', 'wait for a predicate (endpoints, pods, curl, ...) instead');
      if ('apply' in st) {
        [st.apply].flat().forEach((f) => {
          if (!view.hasFile(f)) at([list, i, 'apply'], `manifest "${f}" not found in the folder`, 'put it next to scenario.yaml');
        });
      }
    });
  stepRules(s.setup, 'setup');
  stepRules(s.solve, 'solve');
  [...s.setup, ...s.solve].forEach((st, i) => {
    const list = i < s.setup.length ? 'setup' : 'solve';
    const at2 = i < s.setup.length ? i : i - s.setup.length;
    if ('up' in st && !view.hasFile(st.up.config)) at([list, at2, 'up', 'config'], `config file "${st.up.config}" not found in the folder`, 'put it in the folder, e.g. solution/config.yaml');
  });

  // Facts: recorded once, by setup (quiz answers compare with them from the start on) or solve.
  const recorded = [...s.setup, ...s.solve].flatMap((st) => ('exec' in st && st.exec.record ? [st.exec.record] : 'curl' in st && st.curl.record ? [st.curl.record] : []));
  duplicates(recorded).forEach((f) => at([], `fact "${f}" is recorded twice`, 'give each recorded value its own name'));
  recorded.filter((f) => checkNames.includes(f)).forEach((f) => at([], `fact "${f}" has the name of a check`, 'name the fact differently: checks keep their own facts under their names'));
  const fromSetup = s.setup.flatMap((st) => ('exec' in st && st.exec.record ? [st.exec.record] : 'curl' in st && st.curl.record ? [st.curl.record] : []));
  for (const [path, text] of strings(s, [])) {
    const [top] = path;
    for (const f of factsNamed(text)) {
      const known = top === 'quiz' || top === 'checks' ? fromSetup : recorded;
      if (!known.includes(f)) at(path, `{{fact/${f}}} names no fact ${top === 'quiz' || top === 'checks' ? 'that setup records' : 'that a step records'}`, `record it in setup: add \`record: ${f}\` to the exec or curl step that sees it`);
    }
    for (const q of answersNamed(text)) if (!quizIds.includes(q)) at(path, `{{answer/${q}}} names no quiz entry`, `use one of: ${quizIds.join(', ') || '(none; add a quiz entry)'}`);
  }
  return out;
}

/** Every string in a parsed scenario, with its path. */
function strings(value: unknown, path: PathSegment[]): [PathSegment[], string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...path, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  return [];
}

function duplicates(values: string[]): string[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}
