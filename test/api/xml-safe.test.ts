/** Text from people (a pasted control character, a broken surrogate) never makes an outbound document unreadable. */
import { XMLBuilder, XMLValidator } from 'fast-xml-parser';
import { xmlSafe } from '../../api/integration/b2mml';
import { mesaSchemaErrors } from '../../api/integration/mesa-schemas';

test('characters XML 1.0 forbids become U+FFFD; markup is escaped; the rest is kept', async () => {
  const comment = 'vertical\u000btab, bell\u0007, lone \ud800 surrogate, <b>&"quoted"</b>, é😀\ttab\nline';
  expect(xmlSafe({ a: [comment], n: 3 })).toEqual({
    a: ['vertical\ufffdtab, bell\ufffd, lone \ufffd surrogate, <b>&"quoted"</b>, é😀\ttab\nline'],
    n: 3,
  });
  const xml = new XMLBuilder({ ignoreAttributes: false }).build(
    xmlSafe({
      BatchProductionRecord: {
        '@_xmlns': 'http://www.mesa.org/xml/B2MML-V0600',
        ID: 'B1/record',
        EntryID: 'B1/record',
        ObjectType: 'Batch Production Record',
        Description: comment,
      },
    }),
  );
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(await mesaSchemaErrors(xml, 'BatchML-V0600-BatchProductionRecord.xsd')).toEqual([]);
  // Without it, libxml2 refuses the document outright.
  const unsafe = xml.replace('vertical\ufffdtab', 'vertical\u000btab');
  expect((await mesaSchemaErrors(unsafe, 'BatchML-V0600-BatchProductionRecord.xsd')).length).toBeGreaterThan(0);
});
