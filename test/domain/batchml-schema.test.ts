/** The schema the BatchML test holds Ampoule's BatchProductionRecord against refuses what MESA's sequence does not allow. */
import { validateBatchProductionRecord } from '../support/batchml-schema';

const NS = 'http://www.mesa.org/xml/B2MML-V0600';
const record = (inner: string, ns = NS) =>
  `<?xml version="1.0" encoding="UTF-8"?><BatchProductionRecord xmlns="${ns}"><ID>B1/record</ID>${inner}</BatchProductionRecord>`;
const event = (inner: string) =>
  `<Events><Event><EntryID>B1/1</EntryID><TimeStamp>2026-12-07T10:00:00.000Z</TimeStamp>${inner}</Event></Events>`;

test('a record in MESA’s order is valid; out of order, unknown, misplaced, undated or in another namespace is not', () => {
  expect(
    validateBatchProductionRecord(
      record(
        `<BatchID>B1</BatchID><LotID>B1</LotID>${event('<EventType OtherValue="step-started">Other</EventType><Value><ValueString>1</ValueString><UnitOfMeasure>kg</UnitOfMeasure></Value>')}`,
      ),
    ),
  ).toEqual([]);
  expect(validateBatchProductionRecord(record('<LotID>B1</LotID><BatchID>B1</BatchID>'))).toEqual([
    '/BatchProductionRecord/BatchID: out of the sequence of BatchProductionRecord',
  ]);
  expect(validateBatchProductionRecord(record(event('<Colour>red</Colour>')))).toEqual([
    '/BatchProductionRecord/Events[1]/Event[1]/Colour: not allowed in Event',
    "/BatchProductionRecord/Events[1]/Event[1]/Colour[1]: Colour is not an element Ampoule's schema knows",
  ]);
  expect(validateBatchProductionRecord(record(event('<Value><UnitOfMeasure>kg</UnitOfMeasure></Value>')))).toEqual([
    '/BatchProductionRecord/Events[1]/Event[1]/Value[1]: ValueString is missing',
  ]);
  expect(
    validateBatchProductionRecord(
      record('<Events><Event><EntryID>x</EntryID><TimeStamp>soon</TimeStamp></Event></Events>'),
    ),
  ).toEqual(['/BatchProductionRecord/Events[1]/Event[1]/TimeStamp[1] is not a date-time: soon']);
  expect(validateBatchProductionRecord(record('', 'http://www.mesa.org/xml/B2MML'))).toEqual([
    'BatchProductionRecord is not in the B2MML V0600 namespace',
  ]);
});
