// The agent's object store: what the API server holds in etcd, kept in memory and saved to the
// lab's state file. Every change bumps a resourceVersion and is announced, so controllers (and
// later `get -w`) can react to it.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Deployment, Endpoints, Event, Namespace, Node, ObjectMeta, Pod, Service } from '../api/types.js';

export type StoredObject = Pod | Namespace | Node | Deployment | Service | Endpoints | Event;
export type Kind = StoredObject['kind'];
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreSnapshot {
  resourceVersion: number;
  objects: StoredObject[];
}

export function objectKey(kind: Kind, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function keyOf(o: StoredObject): string {
  return objectKey(o.kind, o.metadata.namespace, o.metadata.name);
}

/** Listeners get the object as stored, and as it was before (for MODIFIED). */
export class Store extends EventEmitter<{ change: [type: WatchEventType, object: StoredObject, previous: StoredObject | undefined] }> {
  private readonly objects = new Map<string, StoredObject>();
  private version = 0;

  constructor() {
    super();
    // Every `get -w` adds a listener; there is no leak in having many.
    this.setMaxListeners(0);
  }

  get resourceVersion(): string {
    return String(this.version);
  }

  get<T extends StoredObject>(kind: T['kind'], namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(objectKey(kind, namespace, name)) as T | undefined;
  }

  list<T extends StoredObject>(kind: T['kind'], namespace?: string): T[] {
    const out: T[] = [];
    for (const o of this.objects.values()) {
      if (o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace)) out.push(o as T);
    }
    return out.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  }

  /** Creates or replaces; fills in uid and creationTimestamp on first write. */
  put<T extends StoredObject>(object: T): T {
    const key = keyOf(object);
    const existing = this.objects.get(key);
    const meta: ObjectMeta = {
      ...object.metadata,
      uid: existing?.metadata.uid ?? object.metadata.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? object.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      resourceVersion: String(++this.version),
    };
    const stored = { ...object, metadata: meta } as T;
    this.objects.set(key, stored);
    this.emit('change', existing ? 'MODIFIED' : 'ADDED', stored, existing);
    return stored;
  }

  delete(object: StoredObject): void {
    const key = keyOf(object);
    const existing = this.objects.get(key);
    if (!existing) return;
    this.objects.delete(key);
    this.version++;
    this.emit('change', 'DELETED', existing, existing);
  }

  snapshot(): StoreSnapshot {
    return { resourceVersion: this.version, objects: [...this.objects.values()] };
  }

  restore(snapshot: StoreSnapshot): void {
    this.objects.clear();
    for (const o of snapshot.objects) this.objects.set(keyOf(o), o);
    this.version = snapshot.resourceVersion;
  }
}
