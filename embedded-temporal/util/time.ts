/** Conversions between milliseconds and protobuf Timestamp / Duration, which carry Long seconds. */
import Long from 'long';
import type { IDuration, ITimestamp } from '../proto';

export function timestamp(ms: number): ITimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: Long.fromNumber(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function duration(ms: number): IDuration {
  const seconds = Math.floor(ms / 1000);
  return { seconds: Long.fromNumber(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function toNumber(v: Long | number | string | null | undefined): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

/** Milliseconds of a Duration; undefined when the field is unset. Negative durations are returned as such. */
export function durationMs(d: IDuration | null | undefined): number | undefined {
  if (!d) return undefined;
  return toNumber(d.seconds) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

export function timestampMs(t: ITimestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  return toNumber(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** A Long/number/string int64 as a JS number. */
/** A number as the Long protobufjs types int64 fields with. */
export function long(n: number): Long {
  return Long.fromNumber(n);
}

/** A Long/number/string int64 as a JS number. */
export function int64(v: Long | number | string | null | undefined): number {
  return toNumber(v);
}
