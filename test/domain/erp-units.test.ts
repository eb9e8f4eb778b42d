import { ERP_TO_UCUM, UCUM_TO_ERP, erpUnitOfUcum, ucumOfErpUnit } from '../../domain/integration/erp-units';
import { convert, ucumProblem } from '../../domain/units';

test('every ERP code maps to a valid UCUM unit, and SAP’s and the ISO code of a unit agree', () => {
  for (const [code, ucum] of Object.entries(ERP_TO_UCUM)) expect([code, ucumProblem(ucum)]).toEqual([code, undefined]);
  expect([ucumOfErpUnit('KG'), ucumOfErpUnit('kgm'), ucumOfErpUnit(' LTR '), ucumOfErpUnit('MLT')]).toEqual([
    'kg',
    'kg',
    'L',
    'mL',
  ]);
  expect(convert(1, ucumOfErpUnit('TO')!, 'kg')).toBe(1000);
});

test('a code the table does not name is refused, never guessed — nor a prototype property', () => {
  for (const code of ['T', 'EA', 'PC', 'LB', 'KGS', '', 'constructor', 'toString'])
    expect(ucumOfErpUnit(code)).toBeUndefined();
});

test('back to the ERP: each UCUM unit Ampoule sends has a code, and it maps back to the same unit', () => {
  for (const [ucum, code] of Object.entries(UCUM_TO_ERP)) expect(ucumOfErpUnit(code)).toBe(ucum);
  expect(erpUnitOfUcum('Cel')).toBeUndefined();
});
