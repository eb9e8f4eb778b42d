/**
 * The site's OEE settings, from the YAML file `AMPOULE_OEE_CONFIG` names (none: round the clock, no breaks, small
 * stops under 2 minutes, the default mapping). Validated at start-up: a bad shift, zone or mapping stops the start
 * with a message naming it.
 *
 * ```yaml
 * timeZone: Europe/Zurich
 * shifts:
 *   - { name: early, start: "06:00", end: "14:00", days: [1, 2, 3, 4, 5], breaks: [{ start: "10:00", end: "10:30" }] }
 *   - { name: late, start: "14:00", end: "22:00", days: [1, 2, 3, 4, 5] }
 * microStopMinutes: 2
 * units: { BR-101: { microStopMinutes: 5 } }
 * mapping: { cleaning: PDOT }
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { calendarProblems, ROUND_THE_CLOCK, type SiteCalendar } from '../domain/oee/calendar';
import { DEFAULT_MAPPING, siteMapping, type OeeMapping } from '../domain/oee/mapping';

export interface OeeConfig {
  calendar: SiteCalendar;
  mapping: OeeMapping;
  /** The micro-stop threshold: shorter stops are small stops, longer ones need a reason. */
  microStopMs: number;
  /** Per unit, where a unit's differs. */
  unitMicroStopMs: Record<string, number>;
}

export const DEFAULT_OEE_CONFIG: OeeConfig = {
  calendar: ROUND_THE_CLOCK,
  mapping: DEFAULT_MAPPING,
  microStopMs: 2 * 60_000,
  unitMicroStopMs: {},
};

const minutes = z
  .number()
  .positive()
  .max(24 * 60);
const schema = z.strictObject({
  timeZone: z.string().min(1).default('UTC'),
  shifts: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(64),
        start: z.string(),
        end: z.string(),
        days: z.array(z.int()).optional(),
        breaks: z.array(z.strictObject({ start: z.string(), end: z.string() })).optional(),
      }),
    )
    .min(1),
  microStopMinutes: minutes.default(2),
  units: z.record(z.string(), z.strictObject({ microStopMinutes: minutes })).default({}),
  mapping: z.record(z.string(), z.string()).default({}),
});

export function loadOeeConfig(file: string | undefined): OeeConfig {
  if (!file) return DEFAULT_OEE_CONFIG;
  const fail = (why: string) => new Error(`${file}: ${why}`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw fail(`cannot be read as YAML (${(err as Error).message})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw fail(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const calendar: SiteCalendar = { timeZone: r.data.timeZone, shifts: r.data.shifts };
  const problems = calendarProblems(calendar);
  if (problems.length > 0) throw fail(problems.join('; '));
  let mapping: OeeMapping;
  try {
    mapping = siteMapping(r.data.mapping);
  } catch (err) {
    throw fail((err as Error).message);
  }
  return {
    calendar,
    mapping,
    microStopMs: r.data.microStopMinutes * 60_000,
    unitMicroStopMs: Object.fromEntries(
      Object.entries(r.data.units).map(([code, u]) => [code, u.microStopMinutes * 60_000]),
    ),
  };
}
