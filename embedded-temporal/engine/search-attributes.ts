/**
 * Search attributes: the system ones every workflow has, the custom ones a namespace registers
 * (`--search-attribute Name=Type`, or OperatorService.AddSearchAttributes), and their payload encoding
 * (JSON with a `type` metadata entry, as the SDK writes and reads them).
 */
import { invalidArgument } from '../errors';
import type { IPayload, ISearchAttributes } from '../proto';

export const SEARCH_ATTRIBUTE_TYPES = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const;
export type SearchAttributeType = (typeof SEARCH_ATTRIBUTE_TYPES)[number];

/** IndexedValueType enum numbers, in Temporal's order. */
export const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

/** Attributes the server maintains; only TemporalChangeVersion may be upserted by a workflow. */
export const SYSTEM_SEARCH_ATTRIBUTES: Record<string, SearchAttributeType> = {
  WorkflowId: 'Keyword',
  RunId: 'Keyword',
  WorkflowType: 'Keyword',
  ExecutionStatus: 'Keyword',
  TaskQueue: 'Keyword',
  StartTime: 'Datetime',
  CloseTime: 'Datetime',
  ExecutionTime: 'Datetime',
  ExecutionDuration: 'Int',
  HistoryLength: 'Int',
  HistorySizeBytes: 'Int',
  StateTransitionCount: 'Int',
  TemporalChangeVersion: 'KeywordList',
  BuildIds: 'KeywordList',
  BatcherUser: 'Keyword',
  TemporalNamespaceDivision: 'Keyword',
  // Set by schedules on the workflows they start (engine/schedules.ts).
  TemporalScheduledStartTime: 'Datetime',
  TemporalScheduledById: 'Keyword',
  TemporalSchedulePaused: 'Bool',
};

/** Accepts the CLI spelling of a type (case-insensitive; `String` is the legacy name of Text). */
export function parseSearchAttributeType(raw: string): SearchAttributeType | undefined {
  const lower = raw.toLowerCase();
  if (lower === 'string') return 'Text';
  return SEARCH_ATTRIBUTE_TYPES.find((t) => t.toLowerCase() === lower);
}

export function typeOfAttribute(name: string, custom: Record<string, string>): SearchAttributeType | undefined {
  return SYSTEM_SEARCH_ATTRIBUTES[name] ?? (custom[name] as SearchAttributeType | undefined);
}

/** The JSON value of a search attribute payload; null when the payload clears the attribute. */
export function decodeValue(payload: IPayload): unknown {
  if (!payload.data || payload.data.length === 0) return null;
  const text = Buffer.from(payload.data).toString('utf8');
  return JSON.parse(text);
}

function valueMatches(type: SearchAttributeType, value: unknown): boolean {
  const scalar = (v: unknown): boolean => {
    switch (type) {
      case 'Int':
        return typeof v === 'number' && Number.isInteger(v);
      case 'Double':
        return typeof v === 'number' && Number.isFinite(v);
      case 'Bool':
        return typeof v === 'boolean';
      case 'Datetime':
        return typeof v === 'string' && !Number.isNaN(Date.parse(v));
      default:
        return typeof v === 'string';
    }
  };
  if (value === null) return true;
  if (Array.isArray(value))
    return (type === 'KeywordList' || value.length <= 1 || type === 'Keyword') && value.every(scalar);
  return scalar(value);
}

/**
 * Checks search attributes a caller wants to set and returns them normalised (with `type` metadata).
 * Unknown names, system names other than TemporalChangeVersion, and values of the wrong type are refused.
 */
export function validateSearchAttributes(
  attributes: ISearchAttributes | null | undefined,
  custom: Record<string, string>,
): ISearchAttributes | null {
  const fields = attributes?.indexedFields;
  if (!fields || Object.keys(fields).length === 0) return null;
  const out: Record<string, IPayload> = {};
  for (const [name, payload] of Object.entries(fields)) {
    const type = name === 'TemporalChangeVersion' ? 'KeywordList' : (custom[name] as SearchAttributeType | undefined);
    if (!type) {
      if (SYSTEM_SEARCH_ATTRIBUTES[name])
        throw invalidArgument(`System search attribute ${name} cannot be set by the caller.`);
      throw invalidArgument(`Search attribute ${name} is not defined in this namespace.`);
    }
    let value: unknown;
    try {
      value = decodeValue(payload);
    } catch {
      throw invalidArgument(`Search attribute ${name} has a value that is not valid JSON.`);
    }
    if (!valueMatches(type, value))
      throw invalidArgument(`Search attribute ${name} of type ${type} has an invalid value.`);
    out[name] = {
      metadata: { ...(payload.metadata ?? {}), encoding: Buffer.from('json/plain'), type: Buffer.from(type) },
      data: payload.data ?? new Uint8Array(),
    };
  }
  return { indexedFields: out };
}

/** Merges an upsert into existing attributes; a null value removes the attribute. */
export function mergeSearchAttributes(
  existing: ISearchAttributes | null,
  upsert: ISearchAttributes | null,
): ISearchAttributes | null {
  const merged: Record<string, IPayload> = { ...(existing?.indexedFields ?? {}) };
  for (const [name, payload] of Object.entries(upsert?.indexedFields ?? {})) {
    if (decodeValue(payload) === null) delete merged[name];
    else merged[name] = payload;
  }
  return Object.keys(merged).length > 0 ? { indexedFields: merged } : null;
}

/** Encodes a value as a search attribute payload. */
export function encodeValue(type: SearchAttributeType, value: unknown): IPayload {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) },
    data: Buffer.from(JSON.stringify(value)),
  };
}
