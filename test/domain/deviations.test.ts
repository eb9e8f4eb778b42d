/** A deviation's life, its findings and its title; units as people write them. */
import {
  DEVIATION_ACTIONS,
  DEVIATION_STATES,
  describeExcursion,
  deviationNumber,
  editable,
  missingFindings,
  transitionRefusal,
  type DeviationAction,
} from '../../domain/batch/deviations';
import { displayUnit } from '../../domain/units';

test('each action moves a deviation from exactly one state, and nothing leaves Closed', () => {
  const allowed = DEVIATION_STATES.flatMap((state) =>
    (Object.keys(DEVIATION_ACTIONS) as DeviationAction[])
      .filter((a) => transitionRefusal(state, a) === undefined)
      .map((a) => `${state} -${a}-> ${DEVIATION_ACTIONS[a].to}`),
  );
  expect(allowed).toEqual([
    'open -investigate-> under-investigation',
    'under-investigation -submit-> pending-approval',
    'pending-approval -return-> under-investigation',
    'pending-approval -close-> closed',
  ]);
  expect(transitionRefusal('closed', 'close')).toBe(
    'the deviation is closed: it cannot be closed (only from pending-approval)',
  );
  expect(DEVIATION_STATES.filter(editable)).toEqual(['open', 'under-investigation']);
});

test('a deviation goes for approval only with its severity, root cause, corrective and preventive action', () => {
  const none = { severity: null, rootCause: null, correctiveAction: null, preventiveAction: null };
  expect(missingFindings(none)).toEqual(['severity', 'rootCause', 'correctiveAction', 'preventiveAction']);
  expect(
    missingFindings({ ...none, severity: 'minor', rootCause: '  ', correctiveAction: 'x', preventiveAction: 'y' }),
  ).toEqual(['rootCause']);
});

test('numbers and titles', () => {
  expect(deviationNumber('B2026-00042', 3)).toBe('B2026-00042-D03');
  const base = { stepId: 'heat', field: 'temperature', comment: null, source: 'equipment' as const };
  expect(describeExcursion({ ...base, value: 38.2, unit: 'Cel', low: 36, high: 37 })).toBe(
    'heat: temperature 38.2 °C (reported by the equipment), outside 36–37 °C',
  );
  expect(describeExcursion({ ...base, value: null, unit: '%', low: 95, source: 'operator' })).toBe(
    'heat: temperature not measured (entered), outside ≥ 95 %',
  );
});

test('UCUM codes are shown as people write them', () => {
  expect(
    [
      'Cel',
      '[pH]',
      '%',
      '10*6/mL',
      'mS/cm',
      '/min',
      'm2',
      'kg.m/s2',
      'mm[Hg]',
      '[degF]',
      'ug/mL',
      'L',
      'not a unit',
    ].map(displayUnit),
  ).toEqual([
    '°C',
    'pH',
    '%',
    '10⁶/mL',
    'mS/cm',
    '/min',
    'm²',
    'kg·m/s²',
    'mm\u00a0Hg',
    '°F',
    'μg/mL',
    'L',
    'not a unit',
  ]);
});
