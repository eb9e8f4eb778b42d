/**
 * The visibility query language subset of List/CountWorkflowExecutions:
 *   expr   := or [ORDER BY field [ASC|DESC] {, field [ASC|DESC]}]
 *   or     := and {OR and};  and := unary {AND unary};  unary := NOT unary | '(' or ')' | predicate
 *   predicate := field (= | != | <> | < | <= | > | >=) value | field [NOT] IN (value, …)
 *              | field STARTS_WITH value | field [NOT] BETWEEN value AND value | field IS [NOT] NULL
 * over the system attributes (WorkflowId, WorkflowType, ExecutionStatus, TaskQueue, StartTime, CloseTime, …)
 * and the namespace's registered custom search attributes.
 */
import { invalidArgument } from '../errors';
import { type SearchAttributeType, typeOfAttribute } from './search-attributes';

export type Value = string | number | boolean | null;
/** Reads an attribute of one execution: a scalar, a list (KeywordList), or undefined when unset. */
export type Record_ = (name: string) => Value | Value[] | undefined;

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; inner: Node }
  | { kind: 'cmp'; field: string; type: SearchAttributeType; op: string; value: Value }
  | { kind: 'in'; field: string; type: SearchAttributeType; values: Value[]; negate: boolean }
  | { kind: 'between'; field: string; type: SearchAttributeType; low: Value; high: Value; negate: boolean }
  | { kind: 'null'; field: string; negate: boolean }
  | { kind: 'true' };

export interface ParsedQuery {
  filter: Node;
  orderBy: { field: string; type: SearchAttributeType; desc: boolean }[];
}

interface Token {
  kind: 'word' | 'string' | 'number' | 'op' | 'punct';
  text: string;
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < query.length && query[j] !== c) {
        if (query[j] === '\\' && j + 1 < query.length) j++;
        text += query[j++];
      }
      if (j >= query.length) throw invalidArgument(`invalid query: unterminated string starting at position ${i}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else if (c === '`') {
      const j = query.indexOf('`', i + 1);
      if (j < 0) throw invalidArgument('invalid query: unterminated backquoted name');
      tokens.push({ kind: 'word', text: query.slice(i + 1, j) });
      i = j + 1;
    } else if (/[0-9-]/.test(c) && /^-?\d/.test(query.slice(i, i + 2))) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(query.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(query.slice(i))!;
      tokens.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else if (/[=!<>]/.test(c)) {
      const m = /^(<=|>=|!=|<>|=|<|>)/.exec(query.slice(i));
      if (!m) throw invalidArgument(`invalid query: unexpected '${c}' at position ${i}`);
      tokens.push({ kind: 'op', text: m[0] });
      i += m[0].length;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      throw invalidArgument(`invalid query: unexpected '${c}' at position ${i}`);
    }
  }
  return tokens;
}

export function parseQuery(query: string, custom: Record<string, string>): ParsedQuery {
  const tokens = tokenize(query);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (w: string, t = peek()) => t?.kind === 'word' && t.text.toUpperCase() === w;
  const expect = (kind: Token['kind'], text?: string): Token => {
    const t = tokens[pos];
    if (!t || t.kind !== kind || (text !== undefined && t.text.toUpperCase() !== text)) {
      throw invalidArgument(`invalid query: expected ${text ?? kind} ${t ? `near '${t.text}'` : 'at end of query'}`);
    }
    pos++;
    return t;
  };

  const field = (): { name: string; type: SearchAttributeType } => {
    const t = expect('word');
    const type = typeOfAttribute(t.text, custom);
    if (!type) throw invalidArgument(`invalid query: unknown search attribute ${t.text}`);
    return { name: t.text, type };
  };

  const value = (): Value => {
    const t = tokens[pos++];
    if (!t) throw invalidArgument('invalid query: expected a value at end of query');
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.kind === 'word' && /^(true|false)$/i.test(t.text)) return t.text.toLowerCase() === 'true';
    throw invalidArgument(`invalid query: expected a value near '${t.text}'`);
  };

  const predicate = (): Node => {
    const f = field();
    if (isWord('IS')) {
      pos++;
      const negate = isWord('NOT');
      if (negate) pos++;
      expect('word', 'NULL');
      return { kind: 'null', field: f.name, negate };
    }
    let negate = false;
    if (isWord('NOT')) {
      negate = true;
      pos++;
    }
    if (isWord('IN')) {
      pos++;
      expect('punct', '(');
      const values: Value[] = [value()];
      while (peek()?.text === ',') {
        pos++;
        values.push(value());
      }
      expect('punct', ')');
      return { kind: 'in', field: f.name, type: f.type, values: values.map((v) => coerce(f, v)), negate };
    }
    if (isWord('BETWEEN')) {
      pos++;
      const low = coerce(f, value());
      expect('word', 'AND');
      const high = coerce(f, value());
      return { kind: 'between', field: f.name, type: f.type, low, high, negate };
    }
    if (negate) throw invalidArgument(`invalid query: NOT must be followed by IN or BETWEEN after ${f.name}`);
    if (isWord('STARTS_WITH')) {
      pos++;
      const v = value();
      if (typeof v !== 'string') throw invalidArgument('invalid query: STARTS_WITH needs a string');
      return { kind: 'cmp', field: f.name, type: f.type, op: 'starts_with', value: v };
    }
    const op = expect('op').text;
    return { kind: 'cmp', field: f.name, type: f.type, op: op === '<>' ? '!=' : op, value: coerce(f, value()) };
  };

  const unary = (): Node => {
    if (isWord('NOT')) {
      pos++;
      return { kind: 'not', inner: unary() };
    }
    if (peek()?.text === '(' && peek()?.kind === 'punct') {
      pos++;
      const inner = or();
      expect('punct', ')');
      return inner;
    }
    return predicate();
  };
  const and = (): Node => {
    let left = unary();
    while (isWord('AND')) {
      pos++;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const or = (): Node => {
    let left = and();
    while (isWord('OR')) {
      pos++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };

  const filter: Node = tokens.length === 0 || isWord('ORDER') ? { kind: 'true' } : or();
  const orderBy: ParsedQuery['orderBy'] = [];
  if (isWord('ORDER')) {
    pos++;
    expect('word', 'BY');
    for (;;) {
      const f = field();
      let desc = false;
      if (isWord('ASC')) pos++;
      else if (isWord('DESC')) {
        desc = true;
        pos++;
      }
      orderBy.push({ field: f.name, type: f.type, desc });
      if (peek()?.text !== ',') break;
      pos++;
    }
  }
  if (pos < tokens.length) throw invalidArgument(`invalid query: unexpected '${tokens[pos].text}'`);
  return { filter, orderBy };
}

/** Datetime literals compare as epoch milliseconds; ExecutionStatus names compare case-insensitively. */
function coerce(f: { name: string; type: SearchAttributeType }, v: Value): Value {
  if (f.type === 'Datetime') {
    const ms = typeof v === 'number' ? v / 1e6 : Date.parse(String(v));
    if (Number.isNaN(ms)) throw invalidArgument(`invalid query: '${v}' is not a valid time for ${f.name}`);
    return ms;
  }
  if ((f.type === 'Int' || f.type === 'Double') && typeof v !== 'number') {
    throw invalidArgument(`invalid query: ${f.name} needs a number, got '${v}'`);
  }
  if (f.name === 'ExecutionStatus' && typeof v === 'string') return v.toLowerCase();
  return v;
}

function normalise(name: string, type: SearchAttributeType, v: Value): Value {
  if (v == null) return v;
  if (type === 'Datetime' && typeof v === 'string') return Date.parse(v);
  if (name === 'ExecutionStatus' && typeof v === 'string') return v.toLowerCase();
  return v;
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matchScalar(type: SearchAttributeType, op: string, actual: Value, expected: Value): boolean {
  if (actual == null) return op === '!=';
  switch (op) {
    case '=':
      return type === 'Text'
        ? String(actual).toLowerCase().includes(String(expected).toLowerCase())
        : compare(actual, expected) === 0;
    case '!=':
      return compare(actual, expected) !== 0;
    case '<':
      return compare(actual, expected) < 0;
    case '<=':
      return compare(actual, expected) <= 0;
    case '>':
      return compare(actual, expected) > 0;
    case '>=':
      return compare(actual, expected) >= 0;
    case 'starts_with':
      return String(actual).startsWith(String(expected));
    default:
      return false;
  }
}

export function evaluate(node: Node, read: Record_): boolean {
  switch (node.kind) {
    case 'true':
      return true;
    case 'and':
      return evaluate(node.left, read) && evaluate(node.right, read);
    case 'or':
      return evaluate(node.left, read) || evaluate(node.right, read);
    case 'not':
      return !evaluate(node.inner, read);
    case 'null': {
      const v = read(node.field);
      const isNull = v === undefined || v === null || (Array.isArray(v) && v.length === 0);
      return node.negate ? !isNull : isNull;
    }
    case 'cmp':
    case 'in':
    case 'between': {
      const raw = read(node.field);
      const values = (Array.isArray(raw) ? raw : [raw]).map((v) => normalise(node.field, node.type, v ?? null));
      const test = (v: Value): boolean => {
        if (node.kind === 'cmp') return matchScalar(node.type, node.op, v, node.value);
        if (node.kind === 'in') return node.values.some((x) => v != null && compare(v, x) === 0);
        return v != null && compare(v, node.low) >= 0 && compare(v, node.high) <= 0;
      };
      if (node.kind === 'cmp' && node.op === '!=') return values.every(test);
      const hit = values.some(test);
      return node.kind === 'cmp' ? hit : node.negate ? !hit : hit;
    }
  }
}

/** Sorts by the ORDER BY clause, or as Temporal's SQL visibility does: open first, then newest close/start. */
export function comparator(orderBy: ParsedQuery['orderBy']): (a: Record_, b: Record_) => number {
  return (a: Record_, b: Record_): number => {
    if (orderBy.length > 0) {
      for (const o of orderBy) {
        const x = normalise(o.field, o.type, (a(o.field) as Value) ?? null);
        const y = normalise(o.field, o.type, (b(o.field) as Value) ?? null);
        if (x == null && y == null) continue;
        if (x == null) return 1;
        if (y == null) return -1;
        const c = compare(x, y);
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    }
    const closeA = (a('CloseTime') as string | undefined) ? Date.parse(a('CloseTime') as string) : Infinity;
    const closeB = (b('CloseTime') as string | undefined) ? Date.parse(b('CloseTime') as string) : Infinity;
    if (closeA !== closeB) return closeB - closeA;
    const startA = Date.parse(a('StartTime') as string);
    const startB = Date.parse(b('StartTime') as string);
    if (startA !== startB) return startB - startA;
    return compare(b('RunId') as string, a('RunId') as string);
  };
}
