/**
 * What changed between two versions of a recipe, as a reviewer reads it: steps added, removed or moved
 * (matched by id, not by position), and each changed field with its value before and after, located
 * both by JSON pointer and in words ("Unit procedure ‘Upstream’ › Phase ‘Heat’ › Setpoint ‘Temperature’ › high").
 */
import type { RecipeDefinition } from './definition';

export interface RecipeChange {
  kind: 'added' | 'removed' | 'changed' | 'moved';
  /** JSON pointer in the newer version (in the older one for a removal). */
  path: string;
  /** Where, in words. */
  where: string;
  before?: unknown;
  after?: unknown;
}

const ITEM_NAMES: Record<string, string> = {
  unitProcedures: 'Unit procedure',
  operations: 'Operation',
  phases: 'Phase',
  setpoints: 'Setpoint',
  reports: 'Report',
  fields: 'Field',
  results: 'Result',
};

type Json = unknown;
type Identified = { id: string; name?: string; label?: string };

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIdentifiedArray = (v: Json): v is Identified[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => isObject(x) && typeof x.id === 'string');
const same = (a: Json, b: Json) => JSON.stringify(a) === JSON.stringify(b);

/** The changes that turn `older` into `newer`, in document order. */
export function diffRecipes(older: RecipeDefinition, newer: RecipeDefinition): RecipeChange[] {
  const changes: RecipeChange[] = [];
  walk(older, newer, '', [], changes);
  return changes;
}

function walk(a: Json, b: Json, path: string, where: string[], out: RecipeChange[]): void {
  const key = path.split('/').pop() ?? '';
  if (
    (isIdentifiedArray(a) || isIdentifiedArray(b)) &&
    (Array.isArray(a) || a === undefined) &&
    (Array.isArray(b) || b === undefined)
  ) {
    diffItems((a ?? []) as Identified[], (b ?? []) as Identified[], path, where, ITEM_NAMES[key] ?? key, out);
    return;
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      // A list of named items speaks for itself ("Phase ‘Heat’"); so does the procedure.
      const container = k === 'procedure' || isIdentifiedArray(a[k]) || isIdentifiedArray(b[k]);
      walk(a[k], b[k], `${path}/${k}`, container ? where : [...where, k], out);
    }
    return;
  }
  if (!same(a, b))
    out.push({
      kind: 'changed',
      path,
      where: where.join(' › '),
      ...(a !== undefined ? { before: a } : {}),
      ...(b !== undefined ? { after: b } : {}),
    });
}

function diffItems(
  a: Identified[],
  b: Identified[],
  path: string,
  where: string[],
  itemName: string,
  out: RecipeChange[],
): void {
  const label = (item: Identified) => `${itemName} ‘${item.name ?? item.label ?? item.id}’`;
  const oldIndex = new Map(a.map((x, i) => [x.id, i]));
  const newIds = new Set(b.map((x) => x.id));
  for (const [i, item] of a.entries()) {
    if (!newIds.has(item.id))
      out.push({ kind: 'removed', path: `${path}/${i}`, where: [...where, label(item)].join(' › '), before: item });
  }
  // Position among the items both versions have, so that one insertion does not "move" everything after it.
  const keptOld = a.filter((x) => newIds.has(x.id)).map((x) => x.id);
  const keptNew = b.filter((x) => oldIndex.has(x.id)).map((x) => x.id);
  for (const [j, item] of b.entries()) {
    const at = [...where, label(item)];
    const i = oldIndex.get(item.id);
    if (i === undefined) {
      out.push({ kind: 'added', path: `${path}/${j}`, where: at.join(' › '), after: item });
      continue;
    }
    if (keptOld.indexOf(item.id) !== keptNew.indexOf(item.id))
      out.push({ kind: 'moved', path: `${path}/${j}`, where: at.join(' › '), before: i, after: j });
    walk(a[i], item, `${path}/${j}`, at, out);
  }
}
