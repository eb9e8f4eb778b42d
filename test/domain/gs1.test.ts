/** GS1 element strings as a keyboard-wedge scanner types them from a lot label. */
import { parseGs1 } from '../../web/gs1';

const GS = '\u001d';

test('with and without parentheses, with and without group separators', () => {
  const expected = { gtin: '09501101530003', expiry: '2028-12-31', lot: '12345', serial: 'ABC' };
  expect(parseGs1(`0109501101530003172812311012345${GS}21ABC`)).toEqual(expected);
  expect(parseGs1('(01)09501101530003(17)281231(10)12345(21)ABC')).toEqual(expected);
  expect(parseGs1('(01) 09501101530003 (17) 281231 (10) 12345 (21) ABC')).toEqual(expected);
  expect(parseGs1(`]C10109501101530003172812311012345${GS}21ABC\n`)).toEqual(expected);
  // The lot last: its end is the string's end, no separator needed.
  expect(parseGs1('010950110153000317281200' + '10L-42')).toEqual({
    gtin: '09501101530003',
    expiry: '2028-12-31', // day 00: the month's last day
    lot: 'L-42',
  });
});

test('what a lot scan cannot be is said', () => {
  expect(parseGs1('0109501101530003')).toEqual({ error: 'the scan carries no lot number (AI 10)' });
  expect(parseGs1('01123')).toEqual({ error: 'AI (01) needs 14 digits' });
  expect(parseGs1('17281301' + '10X')).toEqual({ error: 'AI (17) 281301 is not a date' });
  expect(parseGs1('9912')).toEqual({ error: 'AI (99) is not one Ampoule reads on a lot label' });
  expect(parseGs1('10' + 'X'.repeat(21))).toEqual({ error: 'AI (10) must have 1–20 characters' });
  expect(parseGs1(`10A${GS}10B`)).toEqual({ error: 'AI (10) appears twice' });
});
