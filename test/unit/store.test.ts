// The agent's object store: identity fields set once, resourceVersion bumped on every change, watch
// events in order, lists sorted like the API server's, and a snapshot that restores exactly.
import test from 'ava';
import type { Namespace, Pod } from '../../src/api/types.js';
import { Store, keyOf, objectKey, type StoredObject, type WatchEventType } from '../../src/agent/store.js';

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** RFC 3339 in whole seconds, as the API server writes it. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function pod(namespace: string, name: string, image = 'busybox'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'c', image }] } };
}

function ns(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } };
}

function record(store: Store): [WatchEventType, string, string | undefined][] {
  const events: [WatchEventType, string, string | undefined][] = [];
  store.on('change', (type, o: StoredObject) => events.push([type, keyOf(o), o.metadata.resourceVersion]));
  return events;
}

test('keys: kind/namespace/name, empty namespace for cluster-scoped objects', (t) => {
  t.is(objectKey('Pod', 'default', 'web'), 'Pod/default/web');
  t.is(objectKey('Namespace', undefined, 'default'), 'Namespace//default');
  t.is(keyOf(pod('kube-system', 'dns')), 'Pod/kube-system/dns');
});

test('a new store is empty at resourceVersion 0', (t) => {
  const store = new Store();
  t.is(store.resourceVersion, '0');
  t.deepEqual(store.list('Pod'), []);
  t.is(store.get('Pod', 'default', 'web'), undefined);
});

test('put assigns uid and creationTimestamp, and resourceVersion from the store', (t) => {
  const store = new Store();
  const before = Date.now();
  const stored = store.put(pod('default', 'web'));
  t.regex(stored.metadata.uid!, UID);
  t.regex(stored.metadata.creationTimestamp!, TIMESTAMP);
  const created = Date.parse(stored.metadata.creationTimestamp!);
  t.true(created >= Math.floor(before / 1000) * 1000 && created <= Date.now(), stored.metadata.creationTimestamp);
  t.is(stored.metadata.resourceVersion, '1');
  t.is(store.resourceVersion, '1');
  t.deepEqual(store.get<Pod>('Pod', 'default', 'web'), stored);
});

test('put does not mutate the object it is given', (t) => {
  const store = new Store();
  const input = pod('default', 'web');
  store.put(input);
  t.deepEqual(input.metadata, { name: 'web', namespace: 'default' });
});

test('uid and creationTimestamp are set once: a replace keeps them, even when the new object carries others', (t) => {
  const store = new Store();
  const first = store.put(pod('default', 'web'));
  const replacement = pod('default', 'web', 'nginx');
  replacement.metadata.uid = 'not-the-uid';
  replacement.metadata.creationTimestamp = '2000-01-01T00:00:00Z';
  const second = store.put(replacement);
  t.is(second.metadata.uid, first.metadata.uid);
  t.is(second.metadata.creationTimestamp, first.metadata.creationTimestamp);
  t.is(second.spec.containers[0]!.image, 'nginx');
  t.is(second.metadata.resourceVersion, '2');
});

test('a first put keeps the uid and creationTimestamp it is given (restored or imported objects)', (t) => {
  const store = new Store();
  const input = pod('default', 'web');
  input.metadata.uid = '11111111-2222-4333-8444-555555555555';
  input.metadata.creationTimestamp = '2024-05-01T10:00:00Z';
  const stored = store.put(input);
  t.is(stored.metadata.uid, '11111111-2222-4333-8444-555555555555');
  t.is(stored.metadata.creationTimestamp, '2024-05-01T10:00:00Z');
});

test('distinct objects get distinct uids', (t) => {
  const store = new Store();
  const a = store.put(pod('default', 'a'));
  const b = store.put(pod('default', 'b'));
  const c = store.put(pod('other', 'a'));
  t.is(new Set([a.metadata.uid, b.metadata.uid, c.metadata.uid]).size, 3);
});

test('every change bumps resourceVersion by one; events ADDED, MODIFIED, DELETED in order', (t) => {
  const store = new Store();
  const events = record(store);
  const web = store.put(pod('default', 'web'));
  store.put(ns('default'));
  store.put(pod('default', 'web', 'nginx'));
  store.delete(web);
  t.is(store.resourceVersion, '4');
  t.deepEqual(events, [
    ['ADDED', 'Pod/default/web', '1'],
    ['ADDED', 'Namespace//default', '2'],
    ['MODIFIED', 'Pod/default/web', '3'],
    // The DELETED event carries the object as it was last stored.
    ['DELETED', 'Pod/default/web', '3'],
  ]);
  t.is(store.get('Pod', 'default', 'web'), undefined);
});

test('deleting what is not there changes nothing and emits nothing', (t) => {
  const store = new Store();
  store.put(pod('default', 'web'));
  const events = record(store);
  store.delete(pod('default', 'nope'));
  store.delete(pod('other', 'web'));
  t.deepEqual(events, []);
  t.is(store.resourceVersion, '1');
});

test('a deleted object comes back as new: ADDED, a new uid', (t) => {
  const store = new Store();
  const first = store.put(pod('default', 'web'));
  store.delete(first);
  const events = record(store);
  const again = store.put(pod('default', 'web'));
  t.deepEqual(events, [['ADDED', 'Pod/default/web', '3']]);
  t.not(again.metadata.uid, first.metadata.uid);
});

test('get tells kinds and namespaces apart', (t) => {
  const store = new Store();
  store.put(pod('a', 'x'));
  store.put(ns('x'));
  t.is(store.get<Pod>('Pod', 'a', 'x')?.kind, 'Pod');
  t.is(store.get('Pod', 'b', 'x'), undefined);
  t.is(store.get<Namespace>('Namespace', undefined, 'x')?.kind, 'Namespace');
  t.is(store.get('Namespace', undefined, 'a'), undefined);
});

test('list is sorted by namespace then name, and filtered by kind and namespace', (t) => {
  const store = new Store();
  for (const [n, name] of [
    ['kube-system', 'coredns'],
    ['default', 'web-2'],
    ['default', 'api'],
    ['apps', 'zeta'],
    ['default', 'web-1'],
  ] as const) {
    store.put(pod(n, name));
  }
  store.put(ns('default'));
  store.put(ns('apps'));
  const names = (pods: Pod[]) => pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  t.deepEqual(names(store.list<Pod>('Pod')), ['apps/zeta', 'default/api', 'default/web-1', 'default/web-2', 'kube-system/coredns']);
  t.deepEqual(names(store.list<Pod>('Pod', 'default')), ['default/api', 'default/web-1', 'default/web-2']);
  t.deepEqual(store.list<Pod>('Pod', 'nowhere'), []);
  t.deepEqual(
    store.list<Namespace>('Namespace').map((n) => n.metadata.name),
    ['apps', 'default'],
  );
});

test('snapshot/restore round trip: same objects, same resourceVersion, counting on from there', (t) => {
  const store = new Store();
  store.put(ns('default'));
  const web = store.put(pod('default', 'web'));
  store.put(pod('kube-system', 'coredns'));
  store.delete(store.put(pod('default', 'gone')));
  const snapshot = JSON.parse(JSON.stringify(store.snapshot())) as ReturnType<Store['snapshot']>;
  t.is(snapshot.resourceVersion, 5);
  t.is(snapshot.objects.length, 3);

  const restored = new Store();
  const events = record(restored);
  restored.restore(snapshot);
  t.deepEqual(events, [], 'restoring is not a change');
  t.is(restored.resourceVersion, '5');
  t.deepEqual(restored.list('Pod'), store.list('Pod'));
  t.deepEqual(restored.list('Namespace'), store.list('Namespace'));
  t.deepEqual(restored.get<Pod>('Pod', 'default', 'web'), web);
  t.is(restored.get('Pod', 'default', 'gone'), undefined);

  const updated = restored.put(pod('default', 'web', 'nginx'));
  t.is(updated.metadata.resourceVersion, '6');
  t.is(updated.metadata.uid, web.metadata.uid);
  t.is(updated.metadata.creationTimestamp, web.metadata.creationTimestamp);
  t.deepEqual(events, [['MODIFIED', 'Pod/default/web', '6']]);
});

test('restore replaces everything that was in the store', (t) => {
  const store = new Store();
  store.put(pod('default', 'old'));
  store.put(pod('default', 'older'));
  store.restore({ resourceVersion: 1, objects: [{ ...pod('default', 'new'), metadata: { name: 'new', namespace: 'default', uid: 'u', resourceVersion: '1' } }] });
  t.deepEqual(
    store.list<Pod>('Pod').map((p) => p.metadata.name),
    ['new'],
  );
  t.is(store.resourceVersion, '1');
});

test('a snapshot is not changed by later writes to the store', (t) => {
  const store = new Store();
  store.put(pod('default', 'web'));
  const snapshot = store.snapshot();
  store.put(pod('default', 'second'));
  store.put(pod('default', 'web', 'nginx'));
  t.is(snapshot.resourceVersion, 1);
  t.is(snapshot.objects.length, 1);
  t.is((snapshot.objects[0] as Pod).spec.containers[0]!.image, 'busybox');
});
