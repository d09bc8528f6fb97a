// A property test of the two parsers users feed: whatever the input — mutated valid files, random
// YAML structures, binary garbage, huge documents — parseConfig and parseManifests either return
// or throw the tool's own InvalidInputError (exit 2 with positions). Any other exception is a
// crash a user would see as a stack trace. Seeded, so a failure reproduces.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { parseManifests } from '../../src/manifests/parse.js';
import { KnetlabError } from '../../src/errors.js';

const ROOT = new URL('../fixtures/', import.meta.url).pathname;
const RUNS = 10_000;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = ['', ' ', ':', '- ', '\n', '\t', '"', "'", '{', '}', '[', ']', '&a', '*a', '!!binary', '---', '...', '#', '0', '-1', '1e309', 'null', '~', 'true', 'yes', '10.42.0.0/33', '::1', '\u0000', '\uffff', 'a'.repeat(300), '%', '@', '|', '>', '? '];

function mutate(text: string, rand: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  let out = text;
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    switch (Math.floor(rand() * 5)) {
      case 0: // insert a token
        out = out.slice(0, at) + pick(TOKENS) + out.slice(at);
        break;
      case 1: // delete a stretch
        out = out.slice(0, at) + out.slice(at + Math.floor(rand() * 20));
        break;
      case 2: // truncate
        out = out.slice(0, at);
        break;
      case 3: // flip a character
        out = out.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + out.slice(at + 1);
        break;
      default: // duplicate a line
        out = out + '\n' + pick(out.split('\n'));
    }
  }
  return out;
}

function randomValue(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth > 3 || r < 0.3) return [42, -1, 0.5, 'x', '', true, null, '10.42.0.0/16', 'server', 'a'.repeat(70)][Math.floor(rand() * 10)];
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const keys = ['cluster-cidr', 'nodes', 'name', 'role', 'labels', 'kind', 'apiVersion', 'metadata', 'spec', 'containers', 'ports', 'containerPort', 'selector', 'replicas', 'x'];
  return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [keys[Math.floor(rand() * keys.length)]!, randomValue(rand, depth + 1)]));
}

function inputs(dir: string, seed: number): string[] {
  const rand = prng(seed);
  const seeds = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
  const out: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const kind = rand();
    if (kind < 0.7) out.push(mutate(seeds[Math.floor(rand() * seeds.length)]!, rand));
    else if (kind < 0.95) out.push(stringify(randomValue(rand)));
    else out.push(Buffer.from(Array.from({ length: Math.floor(rand() * 2000) }, () => Math.floor(rand() * 256))).toString('latin1'));
  }
  out.push('a: '.repeat(50_000), '- '.repeat(20_000), '['.repeat(5_000), 'k: &a [*a]');
  return out;
}

for (const [name, dir, parse] of [
  ['parseConfig', join(ROOT, 'config'), (text: string) => parseConfig(text, 'config.yaml')],
  ['parseManifests', join(ROOT, 'manifests'), (text: string) => parseManifests(text, 'fuzz.yaml')],
] as const) {
  test(`${name}: ${RUNS} generated inputs, no crash: it returns or throws the tool's own error`, (t) => {
    const crashes: string[] = [];
    let rejected = 0;
    for (const input of inputs(dir, 20261127)) {
      try {
        parse(input);
      } catch (err) {
        if (err instanceof KnetlabError && err.exitCode === 2) rejected++;
        else if (crashes.length < 5) crashes.push(`${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}\n  input: ${JSON.stringify(input.slice(0, 200))}`);
      }
    }
    t.deepEqual(crashes, []);
    t.true(rejected > RUNS / 10, `most mutations are rejected cleanly (${rejected})`);
  });
}
