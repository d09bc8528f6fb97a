// Elements of kube-proxy's shared sets and maps, and how a sync changes them. A full sync flushes
// the containers and adds every element again; a partial sync adds what is new, deletes what is
// gone and, for a key whose verdict changed, deletes and re-adds it (the kernel refuses to
// overwrite a map element's data in place). Mirrors nftElementStorage (ensureElem,
// cleanupLeftoverKeys) in pkg/proxy/nftables/proxier.go, which keeps the same bookkeeping in
// memory; here it comes from the Service ports of the previous sync.
//
// Additions are written as the container's declaration with `elements = { ... }` (upstream: one
// `add element` a line): the same elements, but nft 1.0.6 then reads only the tables, not every
// chain and set (see chainBlock in setup.ts). Deletions have no such form: any `delete` makes it
// read the table, so they go into a transaction of their own (layout.ts).
import { CONTAINERS, declareContainer, TABLE, type Container } from './setup.js';

export interface NftElement {
  container: Container;
  /** Key as nft writes it: `172.30.0.41 . tcp . 80`. */
  key: string;
  /** Verdict of a map element (`goto service-...`, `drop`); '' for a set element. */
  value: string;
  /** Upstream comments no-endpoint elements with the Service port's name. */
  comment?: string;
}

/** Container and key: what identifies an element. */
export function elementKey(e: Pick<NftElement, 'container' | 'key'>): string {
  return `${e.container} ${e.key}`;
}

/** The element as written inside `{ }`: `key`, or `key comment "..." : verdict`. */
export function elementText(e: NftElement): string {
  if (e.value === '') return e.key;
  return `${e.key}${e.comment === undefined ? '' : ` comment "${e.comment}"`} : ${e.value}`;
}

/** Elements per line of a container block: keeps lines short, the count of lines small. */
const BLOCK_ELEMENTS = 1000;

/** The lines that add `elements`: per container (in upstream's order), its declaration with them. */
export function addElementLines(elements: readonly NftElement[]): string[] {
  const byContainer = new Map<Container, string[]>();
  for (const e of elements) {
    const list = byContainer.get(e.container);
    if (list) list.push(elementText(e));
    else byContainer.set(e.container, [elementText(e)]);
  }
  const out: string[] = [];
  for (const c of CONTAINERS) {
    const list = byContainer.get(c);
    for (let i = 0; list && i < list.length; i += BLOCK_ELEMENTS) out.push(declareContainer(c, list.slice(i, i + BLOCK_ELEMENTS)));
  }
  return out;
}

export function deleteElementLine(e: Pick<NftElement, 'container' | 'key'>): string {
  return `delete element ${TABLE} ${e.container} { ${e.key} }`;
}

/** Each element once (ports of one Service share their cluster IP), in first-seen order. */
export function uniqueElements(lists: Iterable<readonly NftElement[]>): NftElement[] {
  const seen = new Set<string>();
  const out: NftElement[] = [];
  for (const list of lists) {
    for (const e of list) {
      const k = elementKey(e);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(e);
    }
  }
  return out;
}

export interface ElementChanges {
  /** New keys. */
  added: NftElement[];
  /** Keys that are gone. */
  deleted: NftElement[];
  /** Keys whose verdict (or comment) changed, with their new value: deleted, then added. */
  changed: { before: NftElement; after: NftElement }[];
}

/**
 * What turns `before` (the elements of the ports that changed or went away, as last written)
 * into `after` (the same ports' elements now). `heldElsewhere` says whether an element that
 * `before` had and `after` lacks is still held by a port that did not change (a cluster IP
 * shared by two ports of one Service): such an element stays.
 */
export function diffElements(before: Iterable<NftElement>, after: Iterable<NftElement>, heldElsewhere: (key: string) => boolean): ElementChanges {
  const old = new Map<string, NftElement>();
  for (const e of before) old.set(elementKey(e), e);
  const now = new Map<string, NftElement>();
  for (const e of after) now.set(elementKey(e), e);
  const out: ElementChanges = { added: [], deleted: [], changed: [] };
  for (const [k, e] of old) {
    const next = now.get(k);
    if (next === undefined) {
      if (!heldElsewhere(k)) out.deleted.push(e);
    } else if (next.value !== e.value || next.comment !== e.comment) {
      out.changed.push({ before: e, after: next });
    }
  }
  for (const [k, e] of now) if (!old.has(k)) out.added.push(e);
  return out;
}
