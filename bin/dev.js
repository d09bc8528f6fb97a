#!/usr/bin/env -S node --import tsx --no-warnings
// Runs the TypeScript sources directly (no build step), for development. tsx is loaded by the
// shebang, and oclif is pointed at ./commands: the tsx registration built into oclif fails with
// the tsx versions that support Node 20. The version marks a development run, which also makes
// oclif skip the manifest of the build, as that lists the compiled commands.
import { readFileSync } from 'node:fs';
import { execute } from '@oclif/core';

const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
pjson.oclif.commands = './commands';
pjson.version = '0.0.0-dev';
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => (String(warning).startsWith('Mismatched version') ? undefined : emitWarning(warning, ...rest));
await execute({ development: true, dir: import.meta.url, loadOptions: { root: new URL('..', import.meta.url).pathname, pjson } });
