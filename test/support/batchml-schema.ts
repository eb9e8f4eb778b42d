/**
 * Ampoule's own schema of the BatchML `BatchProductionRecord` it sends (MESA's XSDs cannot be obtained here): for each
 * element it writes, the children B2MML V0600's type allows in the order its sequence gives them (from MESA's
 * `BatchProductionRecordType`, `SingleEventType`, `PersonnelIdentificationManifestType`, `SampleType`,
 * `SampleTestType`, `SampleTestResultType` and `ValueType`), which of them must be there, and which hold text.
 * `validateBatchProductionRecord` answers the problems of a document: none for a valid one.
 */
import { XMLParser } from 'fast-xml-parser';

interface ElementRule {
  /** The children allowed, in the order of the type's sequence. */
  sequence: string[];
  required?: string[];
}

const VALUE: ElementRule = { sequence: ['ValueString', 'DataType', 'UnitOfMeasure', 'Key'], required: ['ValueString'] };
const RECORD_HEAD = ['EntryID', 'ObjectType', 'TimeStamp', 'ExternalReference', 'Description'];

const RULES: Record<string, ElementRule> = {
  BatchProductionRecord: {
    sequence: [
      'ID',
      ...RECORD_HEAD,
      'EquipmentScope',
      'PublishedDate',
      'CreationDate',
      'BatchID',
      'BatchProductionRecordSpec',
      'CampaignID',
      'ChangeIndication',
      'Delimiter',
      'EquipmentID',
      'ExpirationDate',
      'Language',
      'LastChangedDate',
      'LotID',
      'MaterialDefinitionID',
      'PhysicalAssetID',
      'RecordStatus',
      'Version',
      'ChangeHistory',
      'Comments',
      'ControlRecipes',
      'DataSets',
      'Events',
      'MasterRecipes',
      'PersonnelIdentification',
      'OperationsDefinitions',
      'OperationsPerformances',
      'OperationsSchedules',
      'ProductDefinitions',
      'ProductionPerformances',
      'ProductionSchedules',
      'RecipeElements',
      'ResourceQualifications',
      'Samples',
    ],
    required: ['ID'],
  },
  Events: { sequence: ['Event'] },
  Event: {
    sequence: [
      ...RECORD_HEAD,
      'EventType',
      'EventSubType',
      'EquipmentID',
      'Value',
      'PreviousValue',
      'MessageText',
      'PersonID',
      'ComputerID',
      'PhysicalAssetID',
      'ProceduralElementReference',
      'Category',
      'AlarmData',
      'AssociatedEventID',
      'UserAttribute',
    ],
    required: ['EntryID', 'TimeStamp'],
  },
  PersonnelIdentification: { sequence: ['PersonnelIdentificationManifest'] },
  PersonnelIdentificationManifest: {
    sequence: [...RECORD_HEAD, 'RecordReference', 'Name', 'ChangeIndication', 'Reason'],
    required: ['EntryID', 'TimeStamp', 'Name'],
  },
  Samples: { sequence: ['Sample'] },
  Sample: {
    sequence: [
      ...RECORD_HEAD,
      'SampleSourceID',
      'SampleSize',
      'SampleType',
      'SamplePullReason',
      'SampleExpiration',
      'EquipmentID',
      'PhysicalAssetID',
      'ProceduralElementReference',
      'SOPReference',
      'SampleTest',
    ],
    required: ['EntryID'],
  },
  SampleTest: {
    sequence: [...RECORD_HEAD, 'TestCode', 'TestName', 'SampleTestResult'],
    required: ['EntryID'],
  },
  SampleTestResult: {
    sequence: [
      ...RECORD_HEAD,
      'TestDisposition',
      'EquipmentID',
      'PhysicalAssetID',
      'AnalysisUsed',
      'Expiration',
      'Results',
      'ExpectedResults',
    ],
    required: ['EntryID'],
  },
  Value: VALUE,
  Results: VALUE,
  ExpectedResults: VALUE,
};

/** Elements of text (identifiers, times, codes, descriptions): no children. */
const TEXT_ELEMENTS = new Set([
  'ID',
  'EntryID',
  'TimeStamp',
  'ExternalReference',
  'Description',
  'PublishedDate',
  'CreationDate',
  'BatchID',
  'LotID',
  'MaterialDefinitionID',
  'RecordStatus',
  'EventType',
  'EquipmentID',
  'PersonID',
  'ProceduralElementReference',
  'RecordReference',
  'Name',
  'Reason',
  'SampleSourceID',
  'SampleType',
  'TestName',
  'TestDisposition',
  'ValueString',
  'DataType',
  'UnitOfMeasure',
  'Key',
]);

/** Times are xsd:dateTime. */
const DATE_TIMES = new Set(['TimeStamp', 'PublishedDate', 'CreationDate']);

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

export function validateBatchProductionRecord(xml: string): string[] {
  const doc = new XMLParser({ preserveOrder: true, ignoreAttributes: false, parseTagValue: false }).parse(
    xml,
  ) as Ordered[];
  const root = doc.find((n) => !('?xml' in n));
  const problems: string[] = [];
  if (!root || !('BatchProductionRecord' in root)) return ['the root is not BatchProductionRecord'];
  if (root[':@']?.['@_xmlns'] !== 'http://www.mesa.org/xml/B2MML-V0600')
    problems.push('BatchProductionRecord is not in the B2MML V0600 namespace');
  const check = (name: string, children: Ordered[], path: string) => {
    const elements = children.filter((c) => !('#text' in c));
    const names = elements.map((c) => Object.keys(c).find((k) => k !== ':@')!);
    if (TEXT_ELEMENTS.has(name)) {
      if (elements.length > 0) problems.push(`${path} holds elements, not text`);
      const text = children.map((c) => String(c['#text'] ?? '')).join('');
      if (DATE_TIMES.has(name) && Number.isNaN(Date.parse(text))) problems.push(`${path} is not a date-time: ${text}`);
      return;
    }
    const rule = RULES[name];
    if (!rule) {
      problems.push(`${path}: ${name} is not an element Ampoule's schema knows`);
      return;
    }
    let at = -1;
    names.forEach((n, i) => {
      const position = rule.sequence.indexOf(n);
      if (position < 0) problems.push(`${path}/${n}: not allowed in ${name}`);
      else if (position < at) problems.push(`${path}/${n}: out of the sequence of ${name}`);
      else at = position;
      check(n, elements[i][n] as Ordered[], `${path}/${n}[${names.slice(0, i + 1).filter((x) => x === n).length}]`);
    });
    for (const r of rule.required ?? []) if (!names.includes(r)) problems.push(`${path}: ${r} is missing`);
  };
  check('BatchProductionRecord', root.BatchProductionRecord as Ordered[], '/BatchProductionRecord');
  return problems;
}
