/**
 * A history in Temporal's JSON format made readable, as the Temporal UI's "Readable" download does: every payload's
 * metadata decoded to text and its data to the value it encodes (`json/plain`), or null (`binary/null`); a payload
 * in another encoding keeps its base64 data. For people reading it: a readable history no longer replays.
 */

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function isPayload(v: unknown): v is JsonPayload {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = v as JsonPayload;
  return typeof p.metadata === 'object' && p.metadata !== null && typeof p.metadata.encoding === 'string';
}

const text = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

function readable(p: JsonPayload): unknown {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, text(v)]));
  if (metadata.encoding === 'binary/null') return { metadata, data: null };
  if (metadata.encoding === 'json/plain' && p.data !== undefined) {
    try {
      return { metadata, data: JSON.parse(text(p.data)) as unknown };
    } catch {
      return { metadata, data: p.data };
    }
  }
  return { metadata, ...(p.data !== undefined ? { data: p.data } : {}) };
}

function walk(v: unknown): unknown {
  if (isPayload(v)) return readable(v);
  if (Array.isArray(v)) return v.map(walk);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
  return v;
}

/** The history document `json` with its payloads decoded, indented like the original. */
export function readablePayloads(json: string): string {
  return JSON.stringify(walk(JSON.parse(json)), null, 2);
}
