import test from 'ava';
import { KnetlabError } from '../../src/errors.js';
import { NodePortAllocator, staticBandSize } from '../../src/ipam/node-ports.js';

const DEFAULT_RANGE = { min: 30000, max: 32767 };

test('the static band is min(max(16, size/32), 128) ports, as kube-apiserver computes it', (t) => {
  t.is(staticBandSize(2768), 86); // 30000-32767: 30000-30085
  t.is(staticBandSize(16), 0);
  t.is(staticBandSize(17), 16);
  t.is(staticBandSize(128), 16);
  t.is(staticBandSize(4096), 128);
  t.is(staticBandSize(8192), 128);
  t.deepEqual(new NodePortAllocator(DEFAULT_RANGE).staticBand, { min: 30000, max: 30085 });
  t.is(new NodePortAllocator({ min: 30000, max: 30015 }).staticBand, undefined);
});

test('dynamic ports come from above the static band and are the same on every run', (t) => {
  const first = new NodePortAllocator(DEFAULT_RANGE);
  const second = new NodePortAllocator(DEFAULT_RANGE);
  const owners = Array.from({ length: 50 }, (_, i) => `default/svc-${i}:http/TCP`);
  const ports = owners.map((owner) => first.allocate(owner));
  t.deepEqual(owners.map((owner) => second.allocate(owner)), ports);
  t.is(new Set(ports).size, ports.length);
  for (const port of ports) t.true(port >= 30086 && port <= 32767, String(port));
});

test('an owner that already has a port gets it again', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  const port = allocator.allocate('default/web:http/TCP');
  t.is(allocator.allocate('default/web:http/TCP'), port);
  t.is(Object.keys(allocator.state.allocated).length, 1);
});

test('the static band is used only when the rest of the range is full', (t) => {
  const allocator = new NodePortAllocator({ min: 30000, max: 30127 }); // static band 30000-30015
  const ports = Array.from({ length: 112 }, (_, i) => allocator.allocate(`svc-${i}`));
  t.true(ports.every((port) => port >= 30016));
  const next = allocator.allocate('one-more');
  t.true(next >= 30000 && next <= 30015, String(next));
});

test('a full range is an error naming the range', (t) => {
  const allocator = new NodePortAllocator({ min: 30000, max: 30003 });
  t.deepEqual([0, 1, 2, 3].map((i) => allocator.allocate(`svc-${i}`)).sort(), [30000, 30001, 30002, 30003]);
  const error = t.throws(() => allocator.allocate('svc-4'), { instanceOf: KnetlabError });
  t.regex(error.message, /range is full \(30000-30003\)/);
});

test('allocateSpecific takes a free port, and is idempotent for its owner', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  t.is(allocator.allocateSpecific(30080, 'default/web:http/TCP'), 30080);
  t.is(allocator.allocateSpecific(30080, 'default/web:http/TCP'), 30080);
  t.deepEqual(allocator.state, { allocated: { '30080': 'default/web:http/TCP' } });
});

test('allocateSpecific refuses a port held by another owner, in the apiserver\'s words', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  allocator.allocateSpecific(30080, 'default/web:http/TCP');
  const error = t.throws(() => allocator.allocateSpecific(30080, 'default/other:http/TCP'), { instanceOf: KnetlabError });
  t.is(error.message, 'nodePort 30080 for default/other:http/TCP: provided port is already allocated (to default/web:http/TCP)');
  t.truthy(error.hint);
});

test('allocateSpecific refuses ports outside the range, in the apiserver\'s words', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  for (const port of [29999, 32768, 80, 30080.5]) {
    const error = t.throws(() => allocator.allocateSpecific(port, 'default/web:http/TCP'), { instanceOf: KnetlabError });
    t.true(error.message.endsWith('provided port is not in the valid range. The range of valid ports is 30000-32767'), error.message);
  }
  t.is(allocator.allocateSpecific(30000, 'a'), 30000);
  t.is(allocator.allocateSpecific(32767, 'b'), 32767);
});

test('dynamic allocation skips ports taken by hand', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  const wanted = new NodePortAllocator(DEFAULT_RANGE).allocate('default/web:http/TCP');
  allocator.allocateSpecific(wanted, 'default/first:http/TCP');
  const got = allocator.allocate('default/web:http/TCP');
  t.not(got, wanted);
  t.true(got >= 30086);
});

test('a released port can be allocated again', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  allocator.allocateSpecific(30080, 'default/web:http/TCP');
  allocator.release(30080);
  t.deepEqual(allocator.state, { allocated: {} });
  t.is(allocator.allocateSpecific(30080, 'default/other:http/TCP'), 30080);
  allocator.release(31111); // releasing a free port is harmless
});

test('state round-trips through JSON and the constructor, ports in order', (t) => {
  const allocator = new NodePortAllocator(DEFAULT_RANGE);
  allocator.allocateSpecific(32000, 'default/b:http/TCP');
  allocator.allocateSpecific(30080, 'default/a:http/TCP');
  const dynamic = allocator.allocate('default/c:http/TCP');
  const state = JSON.parse(JSON.stringify(allocator.state)) as typeof allocator.state;
  t.deepEqual(Object.keys(state.allocated), Object.keys(state.allocated).sort((a, b) => Number(a) - Number(b)));
  const restored = new NodePortAllocator(DEFAULT_RANGE, state);
  t.deepEqual(restored.state, allocator.state);
  t.is(restored.allocate('default/c:http/TCP'), dynamic);
  t.throws(() => restored.allocateSpecific(30080, 'default/x:http/TCP'), { message: /already allocated/ });
});

test('saved ports outside a changed range are dropped', (t) => {
  const saved = { allocated: { '30080': 'default/a:http/TCP', '31000': 'default/b:http/TCP', 'junk': 'default/c:http/TCP' } };
  const allocator = new NodePortAllocator({ min: 30500, max: 32767 }, saved);
  t.deepEqual(allocator.state, { allocated: { '31000': 'default/b:http/TCP' } });
});

test('a range that is not a range of ports is an error', (t) => {
  for (const range of [{ min: 32767, max: 30000 }, { min: 0, max: 10 }, { min: 30000, max: 70000 }, { min: 1.5, max: 10 }]) {
    t.throws(() => new NodePortAllocator(range), { instanceOf: KnetlabError, message: /not a range of ports/ });
  }
});
