/**
 * What a unit is doing, in Ampoule's terms, and the ISO 22400-2 time element each condition counts as. The
 * mapping is the site's to choose (cleaning as setup time or as planned downtime, say); the default follows
 * `../shared/reference/next-capabilities.md` §2.5:
 *
 * | Condition          | When                                                                 | Default |
 * |--------------------|----------------------------------------------------------------------|---------|
 * | `running`          | an equipment phase of a batch executes on the unit                   | APT     |
 * | `held-fault`       | the batch is held after a failure (a phase refused or failed)         | ADET    |
 * | `held`             | the batch is held by a command (no failure before it)                 | ADET    |
 * | `waiting-operator` | a batch holds the unit, no phase runs: the batch waits for a person   | ADET    |
 * | `idle`             | no batch holds the unit, in planned busy time                         | ADOT    |
 * | `cleaning`         | the unit is dirty: cleaning, changeover                               | AUST    |
 * | `maintenance`      | the unit's status is maintenance                                      | PDOT    |
 *
 * Calendar time outside the site's shifts is not planned operation time (not counted at all); a planned break
 * within a shift is planned downtime (PDOT) unless the unit runs through it (a batch does not stop for lunch).
 */

export const UNIT_CONDITIONS = [
  'maintenance',
  'held-fault',
  'held',
  'running',
  'cleaning',
  'waiting-operator',
  'idle',
] as const;
/** Listed from the strongest: where sources overlap, the strongest condition holds (a unit in maintenance runs no batch). */
export type UnitCondition = (typeof UNIT_CONDITIONS)[number];

/** The ISO 22400-2 time elements a condition can count as (PDOT: planned downtime, taken out of planned busy time). */
export const TIME_ELEMENTS = ['APT', 'AUST', 'ADET', 'ADOT', 'PDOT'] as const;
export type TimeElement = (typeof TIME_ELEMENTS)[number];

export type OeeMapping = Record<UnitCondition, TimeElement>;

export const DEFAULT_MAPPING: OeeMapping = {
  running: 'APT',
  'held-fault': 'ADET',
  held: 'ADET',
  'waiting-operator': 'ADET',
  idle: 'ADOT',
  cleaning: 'AUST',
  maintenance: 'PDOT',
};

/** The mapping with a site's changes; running is always production time (APT) and nothing else is. */
export function siteMapping(changes: Partial<Record<string, string>>): OeeMapping {
  const mapping = { ...DEFAULT_MAPPING };
  for (const [condition, element] of Object.entries(changes)) {
    if (!(UNIT_CONDITIONS as readonly string[]).includes(condition))
      throw new Error(`OEE mapping: no condition ${condition} (expected one of ${UNIT_CONDITIONS.join(', ')})`);
    if (!(TIME_ELEMENTS as readonly string[]).includes(element ?? ''))
      throw new Error(`OEE mapping: ${condition} → ${element}: expected one of ${TIME_ELEMENTS.join(', ')}`);
    mapping[condition as UnitCondition] = element as TimeElement;
  }
  if (mapping.running !== 'APT') throw new Error('OEE mapping: running is production time (APT)');
  for (const [condition, element] of Object.entries(mapping))
    if (element === 'APT' && condition !== 'running')
      throw new Error(`OEE mapping: only running is production time (APT), not ${condition}`);
  return mapping;
}
