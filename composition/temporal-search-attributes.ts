/**
 * Ampoule's custom search attributes (temporal.yaml's `searchAttributes`) on a Temporal cluster: registered by
 * `bin/ampoule migrate` through the operator service where the cluster allows it (a self-hosted one does; Temporal
 * Cloud does not: there they are created in its console or with `tcld`), and checked by every process at start, so
 * that a missing one stops the start naming it — not a launch answered "Failed to start Workflow".
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type AttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';
const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const TYPE_CODES: Record<AttributeType, temporal.api.enums.v1.IndexedValueType> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export interface SearchAttributeCheck {
  /** Named in temporal.yaml, absent from the namespace. */
  missing: string[];
  /** Present with another type than temporal.yaml's. */
  mistyped: { name: string; expected: AttributeType; found: string }[];
}

/** What the namespace lacks of `wanted`. */
export async function checkSearchAttributes(
  connection: Connection,
  namespace: string,
  wanted: Record<string, AttributeType>,
): Promise<SearchAttributeCheck> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const present = new Map<string, number>(
    Object.entries({ ...listed.systemAttributes, ...listed.customAttributes }).map(([k, v]) => [k, Number(v)]),
  );
  const out: SearchAttributeCheck = { missing: [], mistyped: [] };
  for (const [name, type] of Object.entries(wanted)) {
    const found = present.get(name);
    if (found === undefined) out.missing.push(name);
    else if (found !== TYPE_CODES[type])
      out.mistyped.push({ name, expected: type, found: IndexedValueType[found] ?? String(found) });
  }
  return out;
}

/** Adds the missing ones; returns their names. Throws the cluster's refusal (PERMISSION_DENIED, UNIMPLEMENTED…). */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
  wanted: Record<string, AttributeType>,
): Promise<string[]> {
  const { missing } = await checkSearchAttributes(connection, namespace, wanted);
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, TYPE_CODES[wanted[name]]])),
  });
  return missing;
}

/** The Temporal CLI's command that creates `names` (for an operator to run where Ampoule may not). */
export function createCommand(namespace: string, names: string[], wanted: Record<string, AttributeType>): string {
  return `temporal operator search-attribute create --namespace ${namespace} ${names
    .map((n) => `--name ${n} --type ${wanted[n]}`)
    .join(' ')}`;
}

/** A sentence on what is wrong, or undefined when all is there. */
export function searchAttributeProblem(
  check: SearchAttributeCheck,
  namespace: string,
  wanted: Record<string, AttributeType>,
): string | undefined {
  const problems: string[] = [];
  if (check.missing.length > 0)
    problems.push(
      `the Temporal namespace ${namespace} lacks Ampoule's search attributes ${check.missing.join(', ')}: run bin/ampoule migrate with TEMPORAL_ADDRESS set (it registers them where the cluster allows), or ${createCommand(namespace, check.missing, wanted)}`,
    );
  for (const m of check.mistyped)
    problems.push(
      `the search attribute ${m.name} of namespace ${namespace} is ${m.found}, Ampoule needs ${m.expected}`,
    );
  return problems.length > 0 ? problems.join('; ') : undefined;
}
