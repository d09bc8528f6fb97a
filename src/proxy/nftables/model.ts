// A model of `table ip kube-proxy` and of `nft -f` for the commands the renderer writes, so tests
// (and later `explain`/`trace` in nftables mode) can replay transactions without root. Each text
// is one transaction: it applies whole or not at all, and it fails where nft would: a rule that
// jumps to a chain or uses a set that does not exist (yet), a flush or delete of something that
// is not there, a delete of a chain or set something still refers to. `dumpNft` prints the result
// in the form of knftables' Fake.Dump, which upstream's proxier_test.go compares against.
import { CONTAINERS } from './setup.js';

export interface NftChainModel {
  /** `type filter hook input priority -110 ;` or `comment "..." ;`, as declared; '' for a plain chain. */
  spec: string;
  rules: string[];
}

export interface NftContainerModel {
  kind: 'set' | 'map';
  spec: string;
  /** Element text by key. */
  elements: Map<string, string>;
}

export interface NftTableModel {
  exists: boolean;
  comment?: string;
  chains: Map<string, NftChainModel>;
  containers: Map<string, NftContainerModel>;
}

export class NftModelError extends Error {}

export function emptyNftTable(): NftTableModel {
  return { exists: false, chains: new Map(), containers: new Map() };
}

const PREFIX = 'ip kube-proxy';
const COMMAND = /^(add|flush|delete) (table|chain|rule|set|map|element) ip kube-proxy(?: (\S+))?(?: (.*))?$/;

/** Applies one `nft -f` text (one transaction) to `table`; throws NftModelError and leaves it as it was. */
export function applyNft(table: NftTableModel, text: string): NftTableModel {
  const t = cloneTable(table);
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      applyCommand(t, line);
    } catch (err) {
      throw new NftModelError(`line ${i + 1}: ${(err as Error).message}\n  ${line}`);
    }
  });
  table.exists = t.exists;
  table.comment = t.comment;
  table.chains = t.chains;
  table.containers = t.containers;
  return table;
}

function applyCommand(t: NftTableModel, line: string): void {
  const m = COMMAND.exec(line);
  if (!m) throw new Error(`not a command the model knows (for ${PREFIX})`);
  const [, verb, object, name = '', rest = ''] = m;
  if (object === 'table') {
    if (verb === 'add') return void Object.assign(t, { exists: true, comment: /comment "([^"]*)"/.exec(name + rest)?.[1] ?? t.comment });
    if (verb === 'delete') return void Object.assign(t, emptyNftTable());
    throw new Error('unsupported table command');
  }
  if (!t.exists) throw new Error('No such file or directory: the table does not exist');
  const body = /^\{ (.*) \}$/.exec(rest)?.[1];
  if (object === 'chain') return chainCommand(t, verb!, name, body);
  if (object === 'rule') return addRules(t, name, [rest]);
  if (object === 'set' || object === 'map') return containerCommand(t, verb!, object, name, body);
  if (object === 'element') return elementCommand(t, verb!, name, body ?? '');
  throw new Error('unsupported command');
}

function chainCommand(t: NftTableModel, verb: string, name: string, body: string | undefined): void {
  const chain = t.chains.get(name);
  if (verb === 'add') {
    if (body === undefined) return void (chain ?? t.chains.set(name, { spec: '', rules: [] }));
    if (/^(type|comment) /.test(body)) {
      // A regular chain cannot become a base chain, nor a base chain change its hook.
      if (chain && body.startsWith('type ') && chain.spec !== body) throw new Error(`chain ${name} exists as "${chain.spec || 'a regular chain'}"`);
      if (chain) chain.spec = body;
      else t.chains.set(name, { spec: body, rules: [] });
      return;
    }
    if (!chain) t.chains.set(name, { spec: '', rules: [] });
    return addRules(t, name, splitRules(body));
  }
  if (!chain) throw new Error(`No such file or directory: chain ${name}`);
  if (verb === 'flush') return void (chain.rules = []);
  const user = referrers(t).chains.get(name);
  if (user) throw new Error(`Device or resource busy: chain ${name} is used by ${user}`);
  t.chains.delete(name);
}

function addRules(t: NftTableModel, chain: string, rules: readonly string[]): void {
  const target = t.chains.get(chain);
  if (!target) throw new Error(`No such file or directory: chain ${chain}`);
  for (const rule of rules) {
    for (const c of chainRefs(rule)) if (!t.chains.has(c)) throw new Error(`No such file or directory: ${chain} refers to chain ${c}`);
    for (const s of setRefs(rule)) if (!t.containers.has(s)) throw new Error(`No such file or directory: ${chain} refers to set ${s}`);
    target.rules.push(rule);
  }
}

function containerCommand(t: NftTableModel, verb: string, kind: 'set' | 'map', name: string, body: string | undefined): void {
  const c = t.containers.get(name);
  if (verb === 'add') {
    const [spec = '', elements] = (body ?? '').split(' ; elements = ');
    const declared = `${spec.replace(/ ;$/, '')} ;`;
    if (c && (c.kind !== kind || c.spec !== declared)) throw new Error(`File exists: ${kind} ${name} exists as "${c.spec}"`);
    const target = c ?? { kind, spec: declared, elements: new Map<string, string>() };
    t.containers.set(name, target);
    if (elements !== undefined) addElements(t, target, /^\{ (.*) \} ;?$/.exec(elements)?.[1] ?? '');
    return;
  }
  if (!c) throw new Error(`No such file or directory: ${kind} ${name}`);
  if (verb === 'flush') return void c.elements.clear();
  const user = referrers(t).sets.get(name);
  if (user) throw new Error(`Device or resource busy: ${kind} ${name} is used by ${user}`);
  t.containers.delete(name);
}

function elementCommand(t: NftTableModel, verb: string, name: string, list: string): void {
  const c = t.containers.get(name);
  if (!c) throw new Error(`No such file or directory: set ${name}`);
  if (verb === 'add') return addElements(t, c, list);
  for (const e of splitElements(list)) if (!c.elements.delete(elementKeyOf(e))) throw new Error(`No such file or directory: element ${e} of ${name}`);
}

function addElements(t: NftTableModel, c: NftContainerModel, list: string): void {
  for (const e of splitElements(list)) {
    for (const ch of chainRefs(e)) if (!t.chains.has(ch)) throw new Error(`No such file or directory: element ${e} refers to chain ${ch}`);
    const key = elementKeyOf(e);
    const had = c.elements.get(key);
    // The kernel keeps an element that is added again, and refuses one whose data would change.
    if (had !== undefined && had !== e) throw new Error(`File exists: element ${key} is "${had}"`);
    c.elements.set(key, e);
  }
}

function splitRules(body: string): string[] {
  return body.replace(/ ;$/, '').split(' ; ');
}

function splitElements(list: string): string[] {
  return list.trim() === '' ? [] : list.split(', ').map((e) => e.trim());
}

function elementKeyOf(element: string): string {
  return element.split(' : ')[0]!.replace(/ comment "[^"]*"$/, '');
}

function chainRefs(text: string): string[] {
  return [...text.matchAll(/\b(?:jump|goto) (\S+)/g)].map((m) => m[1]!);
}

function setRefs(text: string): string[] {
  return [...text.matchAll(/@(\S+)/g)].map((m) => m[1]!);
}

/** Who refers to each chain and set: the first rule or element found. */
function referrers(t: NftTableModel): { chains: Map<string, string>; sets: Map<string, string> } {
  const chains = new Map<string, string>();
  const sets = new Map<string, string>();
  for (const [name, chain] of t.chains) {
    for (const rule of chain.rules) {
      for (const c of chainRefs(rule)) if (!chains.has(c)) chains.set(c, `a rule of ${name}`);
      for (const s of setRefs(rule)) if (!sets.has(s)) sets.set(s, `a rule of ${name}`);
    }
  }
  for (const [name, c] of t.containers) for (const e of c.elements.values()) for (const ch of chainRefs(e)) if (!chains.has(ch)) chains.set(ch, `an element of ${name}`);
  return { chains, sets };
}

function cloneTable(t: NftTableModel): NftTableModel {
  return {
    exists: t.exists,
    ...(t.comment === undefined ? {} : { comment: t.comment }),
    chains: new Map([...t.chains].map(([k, c]) => [k, { spec: c.spec, rules: [...c.rules] }])),
    containers: new Map([...t.containers].map(([k, c]) => [k, { kind: c.kind, spec: c.spec, elements: new Map(c.elements) }])),
  };
}

/**
 * The table as knftables' Fake.Dump prints it, sorted as upstream's sortNFTablesTransaction
 * sorts (table, chains, rules, sets, maps, elements; by name; rules in order).
 */
export function dumpNft(t: NftTableModel): string {
  if (!t.exists) return '';
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const out = [`add table ${PREFIX}${t.comment === undefined ? '' : ` { comment "${t.comment}" ; }`}`];
  const chains = [...t.chains.keys()].sort(byName);
  for (const name of chains) out.push(`add chain ${PREFIX} ${name}${t.chains.get(name)!.spec ? ` { ${t.chains.get(name)!.spec} }` : ''}`);
  for (const name of chains) for (const rule of t.chains.get(name)!.rules) out.push(`add rule ${PREFIX} ${name} ${rule}`);
  const containers = [...t.containers.keys()].sort(byName);
  for (const kind of ['set', 'map'] as const) for (const name of containers) if (t.containers.get(name)!.kind === kind) out.push(`add ${kind} ${PREFIX} ${name} { ${t.containers.get(name)!.spec} }`);
  for (const name of containers) out.push(...[...t.containers.get(name)!.elements.values()].map((e) => `add element ${PREFIX} ${name} { ${e} }`).sort(byName));
  return `${out.join('\n')}\n`;
}

/** The shared sets and maps kube-proxy fills, for tests that look at elements. */
export const FILLED_CONTAINERS: readonly string[] = CONTAINERS;
