// Entry point of the agent process that `up` starts detached, one per lab. It builds the lab,
// then serves the API on a root-only unix socket; its stdout and stderr go to the lab's log.
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LabConfig } from '../config/types.js';
import { Agent } from './agent.js';
import { createApiServer } from './api.js';
import { labPaths } from './paths.js';

const { values } = parseArgs({ options: { lab: { type: 'string' } } });
const lab = values.lab;
if (!lab) {
  console.error('usage: agent --lab NAME');
  process.exit(2);
}
const paths = labPaths(lab);
const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);

process.on('uncaughtException', (err) => {
  log(`fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  // The kernel state stays: `up` recovers it, `down` removes it.
  process.on(signal, () => {
    log(`${signal}: exiting, lab state left for \`up\` or \`down\``);
    process.exit(0);
  });
}

const config = JSON.parse(readFileSync(paths.config, 'utf8')) as LabConfig;
const agent = new Agent(lab, paths, log);
const started = performance.now();
await agent.start(config);
log(`lab ${lab} built in ${(performance.now() - started).toFixed(0)} ms`);

rmSync(paths.socket, { force: true });
const server = createApiServer(agent);
server.listen(paths.socket, () => {
  chmodSync(paths.socket, 0o600);
  log(`agent ${process.pid} serving on ${paths.socket}`);
});
