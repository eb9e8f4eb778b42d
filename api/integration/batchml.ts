/**
 * A released batch's record as a BatchML `BatchProductionRecord` (ISA-88.00.04; BatchML V0600, in the B2MML V0600
 * namespace): every record entry an `Event` — in the record's order, with its time, step, unit, the values it
 * holds (in UCUM, the record's units), who made it, its ISA-88 event type and subtype and Ampoule's entry kind as
 * its `Category` — every signature a `PersonnelIdentificationManifest` referring to the entry (or, for QA's review
 * and release, the record) it signs, and every sample's results a `Sample` with its tests against their limits.
 * Valid against MESA's V0600 schema (`schemas/b2mml-v0600/`), which the tests hold it to. The document's
 * Description names the record's chain head, so a reader can tie it to the record it came from.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { BatchRecord } from '../../db/stores/batch-store';
import { outsideLimits } from '../../domain/batch/completion';
import type { FieldValue } from '../../domain/batch/types';
import { stepEntryBlocks, type RecordEntry } from '../../domain/batch/record-blocks';
import type { PlanStep } from '../../domain/recipe/plan';
import type { SignatureManifestation } from '../signatures/signature-service';
import { B2MML_NS, xmlSafe } from './b2mml';

export interface ReleasedRecord {
  batch: BatchRecord;
  entries: (RecordEntry<SignatureManifestation> & { entryKey: string })[];
  /** QA's signatures on the batch as a whole (reviewed, released). */
  dispositions: SignatureManifestation[];
  recordHead: string | null;
}

/** Each entry kind's ISA-88.00.04 event type and subtype (the schema's enumerations); `Other` for the rest. */
const EVENT_TYPES: Record<string, [string, string]> = {
  'batch-started': ['Control Recipe', 'State Change'],
  'batch-ended': ['Control Recipe', 'State Change'],
  'batch-command': ['Control Recipe', 'State Command'],
  'step-started': ['Procedural Execution', 'State Change'],
  'step-completed': ['Procedural Execution', 'State Change'],
  'step-failed': ['Procedural Execution', 'State Change'],
  'phase-interrupted': ['Procedural Execution', 'State Change'],
  'values-entered': ['Operator', 'Prompt Response'],
  verification: ['Operator', 'Prompt Response'],
  signature: ['Operator', 'Prompt Response'],
  'equipment-parameters': ['Equipment', 'Parameter Data'],
  'equipment-reports': ['Equipment', 'Process Data'],
  'lots-consumed': ['Material', 'Consume'],
  weighing: ['Equipment', 'Process Data'],
  'output-lot': ['Material', 'Produce'],
  yield: ['Material', 'Reconciliation'],
  deviation: ['Alarm', 'Process Data'],
  'history-archived': ['General', 'System'],
};

type Value = { ValueString: string; DataType: string; UnitOfMeasure?: string; Key?: string };

const value = (v: FieldValue | null, unit?: string, key?: string): Value => ({
  ValueString: v === null ? '' : String(v),
  DataType: typeof v === 'number' ? 'double' : typeof v === 'boolean' ? 'boolean' : 'string',
  ...(unit ? { UnitOfMeasure: unit } : {}),
  ...(key ? { Key: key } : {}),
});

/** The values an entry holds, each with its unit: entered values, lots taken, parameters sent, reports read. */
function entryValues(step: PlanStep | undefined, kind: string, data: Record<string, unknown>): Value[] {
  if (!step) return [];
  const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  switch (kind) {
    case 'values-entered':
      return [
        ...Object.entries((data.values ?? {}) as Record<string, FieldValue>).map(([id, v]) => {
          const f = fields.find((x) => x.id === id);
          return value(v, f?.type === 'number' ? f.unit : undefined, id);
        }),
        ...((data.lots ?? []) as { lotNumber: string; quantity: number }[]).map((l) =>
          value(l.quantity, step.kind === 'material' ? step.quantity.unit : undefined, `lot ${l.lotNumber}`),
        ),
      ];
    case 'weighing':
      return (['gross', 'tare', 'net'] as const)
        .filter((k) => typeof data[k] === 'number')
        .map((k) => value(data[k] as number, String(data.unit), k));
    case 'equipment-reports':
      return ((data.reports ?? []) as { id: string; value: number | null; unit: string }[]).map((r) =>
        value(r.value, r.unit, r.id),
      );
    case 'equipment-parameters':
      return Object.entries((data.parameters ?? {}) as Record<string, number>).map(([id, v]) => {
        const sp = step.kind === 'equipment' ? step.setpoints.find((s) => s.id === id) : undefined;
        return value(v, sp?.unit, id);
      });
    default:
      return [];
  }
}

/** An entry in words, as the printed record says it (its tables as rows of text). */
function entryText(step: PlanStep | undefined, e: ReleasedRecord['entries'][number], batch: BatchRecord): string {
  if (!step) return `${e.kind}`;
  return stepEntryBlocks(step, e, batch.units)
    .flatMap((b) =>
      b.kind === 'line'
        ? [b.text]
        : b.kind === 'table'
          ? b.rows.map((r) => r.filter((c) => c !== '').join(' '))
          : [`${b.label}: ${b.signature.signedBy}`],
    )
    .join(' ')
    .trim();
}

export function batchProductionRecord(r: ReleasedRecord, at: Date): string {
  const { batch } = r;
  const stepOf = (id: string | null) => (id ? batch.plan.steps.find((s) => s.id === id) : undefined);
  const unitOf = (step: PlanStep | undefined) => (step ? batch.units[step.unitProcedureId]?.code : undefined);
  const entryId = (seq: number) => `${batch.number}/${seq}`;

  const events = r.entries.map((e) => {
    const step = stepOf(e.stepId);
    const unit = unitOf(step);
    const [type, subtype] = EVENT_TYPES[e.kind] ?? ['Other', 'Other'];
    return {
      EntryID: entryId(e.seq),
      ObjectType: 'Event',
      TimeStamp: e.occurredAt,
      ExternalReference: e.entryKey,
      Description: entryText(step, e, batch) || e.kind,
      EventType: type === 'Other' ? { '@_OtherValue': e.kind, '#text': 'Other' } : type,
      EventSubType: subtype === 'Other' ? { '@_OtherValue': e.kind, '#text': 'Other' } : subtype,
      ...(unit ? { EquipmentID: unit } : {}),
      Value: entryValues(step, e.kind, (e.data ?? {}) as Record<string, unknown>),
      ...(e.userName ? { PersonID: e.userName } : {}),
      ...(step ? { ProceduralElementReference: `${step.unitProcedureId}/${step.operation.id}/${step.id}` } : {}),
      Category: e.kind,
    };
  });

  const signatures = [
    ...r.entries.filter((e) => e.signature).map((e) => ({ signature: e.signature!, reference: entryId(e.seq) })),
    ...r.dispositions.map((signature) => ({ signature, reference: batch.number })),
  ].map(({ signature: s, reference }) => ({
    EntryID: s.id,
    ObjectType: 'Personnel Identification Manifest',
    TimeStamp: s.signedAt,
    Description: `${s.meaning} — electronic signature of ${s.signedBy} (${s.username}) over SHA-256 ${s.contentHash}`,
    RecordReference: reference,
    Name: `${s.signedBy} (${s.username})`,
    // The record's entries are never changed: each signature is of an original.
    ChangeIndication: 'Original',
    Reason: s.comment ? `${s.meaning}: ${s.comment}` : s.meaning,
  }));

  const samples = r.entries.flatMap((e) => {
    const step = stepOf(e.stepId);
    if (e.kind !== 'values-entered' || step?.kind !== 'sample') return [];
    const values = (e.data as { values?: Record<string, FieldValue> }).values ?? {};
    const unit = unitOf(step);
    return [
      {
        EntryID: `${entryId(e.seq)}/sample`,
        ObjectType: 'Sample',
        TimeStamp: e.occurredAt,
        SampleSourceID: `${batch.number}/${step.id}`,
        ...(step.sampleType ? { SampleType: step.sampleType } : {}),
        ...(unit ? { EquipmentID: unit } : {}),
        ProceduralElementReference: `${step.unitProcedureId}/${step.operation.id}/${step.id}`,
        SampleTest: step.results.map((f) => {
          const v = values[f.id] ?? null;
          const limited = f.type === 'number' && (f.low !== undefined || f.high !== undefined);
          const within =
            f.type === 'number' && typeof v === 'number'
              ? !outsideLimits(v, f)
              : f.type === 'passFail'
                ? v === true
                : undefined;
          return {
            EntryID: `${entryId(e.seq)}/sample/${f.id}`,
            ObjectType: 'Sample Test',
            TestName: f.label,
            SampleTestResult: {
              EntryID: `${entryId(e.seq)}/sample/${f.id}/result`,
              ObjectType: 'Sample Test Result',
              TimeStamp: e.occurredAt,
              ...(within !== undefined ? { TestDisposition: within ? 'Pass' : 'Fail' } : {}),
              Results: value(v, f.type === 'number' ? f.unit : undefined, f.id),
              ...(limited
                ? {
                    ExpectedResults: {
                      ValueString: `${f.low ?? ''}..${f.high ?? ''}`,
                      DataType: 'string',
                      UnitOfMeasure: f.unit,
                      Key: `${f.id} limits`,
                    },
                  }
                : {}),
            },
          };
        }),
      },
    ];
  });

  const body = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    BatchProductionRecord: {
      '@_xmlns': B2MML_NS,
      ID: `${batch.number}/record`,
      EntryID: `${batch.number}/record`,
      ObjectType: 'Batch Production Record',
      Description: `Batch production record of batch ${batch.number}: ${batch.productCode}, recipe ${batch.recipeCode} version ${batch.recipeVersion}, ${batch.batchSize} ${batch.batchUnit}; ${r.entries.length} entries, chain head SHA-256 ${r.recordHead ?? 'none'}`,
      PublishedDate: at.toISOString(),
      CreationDate: batch.createdAt.toISOString(),
      BatchID: batch.number,
      LotID: batch.outputLotNumber,
      MaterialDefinitionID: batch.outputMaterial,
      RecordStatus: batch.status.charAt(0).toUpperCase() + batch.status.slice(1),
      Events: { Event: events },
      ...(signatures.length > 0 ? { PersonnelIdentification: { PersonnelIdentificationManifest: signatures } } : {}),
      ...(samples.length > 0 ? { Samples: { Sample: samples } } : {}),
    },
  };
  return new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true }).build(xmlSafe(body));
}
