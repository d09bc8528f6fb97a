// inNetns() is the agent's only way into a namespace; these tests pin its guard rails: the addon
// loads, a missing namespace and async work are refused with clear errors, and sysctls land in
// the namespace. Tests that enter a namespace need root: without it they are skipped (logged),
// unless CI is set, where they fail.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { readFileSync, readlinkSync } from 'node:fs';
import { KnetlabError } from '../../src/errors.js';
import { inNetns, loadSetnsAddon, netnsPath, writeSysctls } from '../../src/kernel/netns.js';

let namespaceCount = 0;

function hasRoot(t: ExecutionContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI) {
    t.fail('this test needs root, and CI is set');
    return false;
  }
  t.log('skipped: needs root');
  t.pass();
  return false;
}

async function scratchNamespace(t: ExecutionContext): Promise<string> {
  const name = `kn.t-netns-${process.pid}-${namespaceCount++}`;
  await execa('ip', ['netns', 'add', name]);
  t.teardown(() => execa('ip', ['netns', 'del', name], { reject: false }));
  return name;
}

test('the setns addon loads', (t) => {
  t.is(typeof loadSetnsAddon().setns, 'function');
});

test('netnsPath is where `ip netns add` mounts a namespace', (t) => {
  t.is(netnsPath('kn.pod-a'), '/run/netns/kn.pod-a');
});

test('entering a namespace that does not exist names it', (t) => {
  const error = t.throws(() => inNetns('kn.t-missing', () => 1), { instanceOf: KnetlabError });
  t.regex(error!.message, /network namespace "kn\.t-missing" does not exist/);
});

test('an async function is refused before entering', (t) => {
  let ran = false;
  const error = t.throws(
    () =>
      inNetns('kn.t-missing', async () => {
        ran = true;
      }),
    { instanceOf: KnetlabError },
  );
  t.regex(error!.message, /async function/);
  t.false(ran);
});

test('only net.* sysctls can be written into a namespace', (t) => {
  t.throws(() => writeSysctls('kn.t-missing', { 'kernel.hostname': 'x' }), { message: /only net\.\* sysctls/ });
  t.throws(() => writeSysctls('kn.t-missing', { 'net.ipv4.//.//.kernel.hostname': 'x' }), { message: /invalid sysctl name/ });
});

test('a function that returns a promise is refused, and the thread is back home', async (t) => {
  if (!hasRoot(t)) return;
  const name = await scratchNamespace(t);
  const home = threadNetns();
  t.throws(() => inNetns(name, () => Promise.resolve(1)), { instanceOf: KnetlabError, message: /returned a promise/ });
  t.is(threadNetns(), home);
});

test('inside, the thread is in the namespace; after, it is home again', async (t) => {
  if (!hasRoot(t)) return;
  const name = await scratchNamespace(t);
  const home = threadNetns();
  t.not(inNetns(name, threadNetns), home);
  t.is(threadNetns(), home);
  t.throws(() => inNetns(name, () => inNetns(name, () => 1)), { message: /cannot be nested/ });
  t.is(threadNetns(), home);
  t.throws(() => inNetns(name, () => { throw new Error('boom'); }), { message: 'boom' });
  t.is(threadNetns(), home);
});

test('writeSysctls writes inside the namespace only', async (t) => {
  if (!hasRoot(t)) return;
  const name = await scratchNamespace(t);
  const hostForwarding = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const flipped = hostForwarding === '1' ? '0' : '1';
  writeSysctls(name, { 'net.ipv4.ip_forward': flipped });
  const { stdout } = await execa('ip', ['netns', 'exec', name, 'cat', '/proc/sys/net/ipv4/ip_forward']);
  t.is(stdout.trim(), flipped);
  t.is(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostForwarding);
  const error = t.throws(() => writeSysctls(name, { 'net.ipv4.no_such_knob': '1' }), { instanceOf: KnetlabError });
  t.regex(error!.message, /sysctl "net\.ipv4\.no_such_knob" does not exist in network namespace/);
});

/** e.g. "net:[4026531840]": which namespace the calling thread is in. */
function threadNetns(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}
