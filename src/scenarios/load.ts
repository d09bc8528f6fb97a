// Finding and reading scenarios: each is a folder of the scenarios directory (the package's own,
// or $KNETLAB_SCENARIOS for a teacher's set) holding scenario.yaml, en.md and zh.md. Everything a
// scenario names is read and checked here, before any lab is touched; a broken scenario is
// reported as every problem at once, as `up` reports a broken config.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { InvalidInputError, UsageError } from '../errors.js';
import { parseYaml } from '../config/parse.js';
import { DEFAULT_CONFIG_NAME, parseConfig, type LoadedConfig } from '../config/load.js';
import { DEFAULT_CONFIG_YAML } from '../config/default.js';
import { loadManifests } from '../manifests/load.js';
import type { ParsedManifests } from '../manifests/parse.js';
import { closestMatch } from '../manifests/vocabulary.js';
import type { Diagnostic } from '../diagnostics.js';
import type { ScenarioFile, Text } from './schema.js';
import { scenarioRules, validateScenarioData } from './validate.js';

export const SCENARIO_FILE = 'scenario.yaml';

export interface Scenario {
  id: string;
  /** The scenario's folder; manifests and config files are relative to it. */
  dir: string;
  spec: ScenarioFile;
  /** en.md and zh.md: the task as the student reads it. */
  task: Text;
}

/** $KNETLAB_SCENARIOS, else the package's scenarios/ (found from here, in src/ or in dist/src/). */
export function scenariosDir(): string {
  if (process.env.KNETLAB_SCENARIOS) return process.env.KNETLAB_SCENARIOS;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'scenarios');
}

export function listScenarioIds(root = scenariosDir()): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, SCENARIO_FILE)))
    .map((e) => e.name)
    .sort();
}

/** Every problem of one scenario folder; a Scenario only when there is none. */
export function checkScenario(dir: string): { scenario?: Scenario; diagnostics: Diagnostic[] } {
  const file = join(dir, SCENARIO_FILE);
  const parsed = parseYaml(readFileSync(file, 'utf8'), file);
  if (!parsed.data) return { diagnostics: parsed.diagnostics };
  const { scenario: spec, diagnostics } = validateScenarioData(parsed.data, parsed.sourceMap);
  if (!spec) return { diagnostics };
  const hasFile = (name: string) => {
    const path = join(dir, name);
    return existsSync(path) && statSync(path).isFile() && readFileSync(path, 'utf8').trim() !== '';
  };
  const problems = scenarioRules(spec, { folder: basename(dir), hasFile }, parsed.sourceMap);
  if (problems.length) return { diagnostics: problems };
  const task = { en: readFileSync(join(dir, 'en.md'), 'utf8').trim(), zh: readFileSync(join(dir, 'zh.md'), 'utf8').trim() };
  return { scenario: { id: spec.id, dir, spec, task }, diagnostics: [] };
}

/** Throws UsageError for an unknown name (with a did-you-mean) and InvalidInputError for a broken scenario. */
export function loadScenario(name: string, root = scenariosDir()): Scenario {
  const ids = listScenarioIds(root);
  if (!ids.includes(name)) {
    const guess = closestMatch(name, ids);
    throw new UsageError(`no scenario "${name}"`, { hint: guess ? `did you mean ${guess}? (\`knetlab scenario list\` lists them)` : `\`knetlab scenario list\` lists them: ${ids.join(', ')}` });
  }
  const { scenario, diagnostics } = checkScenario(join(root, name));
  if (!scenario) throw new InvalidInputError(diagnostics);
  return scenario;
}

export function loadAllScenarios(root = scenariosDir()): Scenario[] {
  return listScenarioIds(root).map((id) => loadScenario(id, root));
}

/** The lab's config: inline in scenario.yaml, a file of the folder, or the built-in default lab. */
export function scenarioConfig(s: Scenario): LoadedConfig {
  const { config } = s.spec;
  if (config === undefined) return parseConfig(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_NAME);
  if (typeof config === 'string') return parseConfig(readFileSync(join(s.dir, config), 'utf8'), join(s.dir, config));
  return parseConfig(stringify(config), `${join(s.dir, SCENARIO_FILE)} (config)`);
}

/** Another config file of the folder (an `up` step's), read and validated as `knetlab up -c` does. */
export function scenarioConfigFile(s: Scenario, name: string): { file: string; loaded: LoadedConfig } {
  const file = join(s.dir, name);
  return { file, loaded: parseConfig(readFileSync(file, 'utf8'), file) };
}

export function scenarioManifests(s: Scenario, files: string[] = s.spec.manifests): Promise<ParsedManifests> {
  return loadManifests(files.map((f) => join(s.dir, f)));
}
