/**
 * The batch record a QA reviewer signs, as PDF (pdfkit): the header; every step in order with its values
 * against their limits and units, lots, equipment parameters and reports, and signature manifestations
 * (printed name, UTC time, meaning); deviations highlighted; batch commands; the output lot; QA's review and
 * disposition signatures; the audit trail of the batch; and the state of the record's hash chain.
 */
import type { AuditEntry } from '../../db/stores/audit-store';
import type { PlanField, PlanStep, ScaledPlan } from '../../domain/recipe/plan';
import type { SignatureManifestation } from '../signatures/signature-service';

interface Entry {
  seq: number;
  kind: string;
  stepId: string | null;
  data: unknown;
  occurredAt: string;
  userName: string | null;
  signature: SignatureManifestation | null;
  hash: string;
}

export interface EbrDocument {
  batch: {
    number: string;
    product: { code: string; name: string };
    recipe: { code: string; version: number; name: string };
    batchSize: { value: number; unit: string };
    outputLot: string;
    status: string;
    planHash: string;
    units: Record<string, string>;
    startedAt: Date | null;
    endedAt: Date | null;
  };
  plan: ScaledPlan;
  chain: {
    ok: boolean;
    firstBreak?: { seq: number; problem: string };
    anchors?: { checked: number; firstMismatch?: { seq: number; anchoredAt: string } };
  };
  entries: Entry[];
  audit: AuditEntry[];
  /** QA's signatures on the batch as a whole: reviewed, released, rejected. */
  signatures: SignatureManifestation[];
}

const RED = '#b00020';
const GREY = '#555555';

export async function renderEbrPdf(d: EbrDocument): Promise<Buffer> {
  // Loaded when a record is printed, not at every start of the API (a quarter of a second).
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margin: 48,
    info: { Title: `Batch record ${d.batch.number}`, Author: 'Ampoule', Subject: d.batch.product.name },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));

  const heading = (text: string, size = 13) =>
    doc.moveDown(0.6).font('Helvetica-Bold').fontSize(size).fillColor('black').text(text).font('Helvetica').fontSize(9);
  const line = (text: string, color = 'black') => doc.fillColor(color).text(text).fillColor('black');
  const utc = (iso: string | Date | null) =>
    iso ? `${new Date(iso).toISOString().replace('T', ' ').slice(0, 19)} UTC` : '—';
  const sig = (s: SignatureManifestation | null) =>
    s
      ? `Signed: ${s.signedBy} (${s.username}), ${utc(s.signedAt)}, meaning: ${s.meaning}${s.comment ? `, comment: ${s.comment}` : ''}`
      : null;

  doc.font('Helvetica-Bold').fontSize(18).text('Electronic batch record');
  doc.font('Helvetica').fontSize(9).moveDown(0.3);
  line(`Batch ${d.batch.number} — ${d.batch.product.name} (${d.batch.product.code})`);
  line(`Recipe ${d.batch.recipe.code} version ${d.batch.recipe.version}: ${d.batch.recipe.name}`);
  line(
    `Batch size ${d.batch.batchSize.value} ${d.batch.batchSize.unit}; output lot ${d.batch.outputLot}; status ${d.batch.status}`,
  );
  line(
    `Equipment: ${Object.entries(d.batch.units)
      .map(([up, u]) => `${up} → ${u}`)
      .join(', ')}`,
  );
  line(`Started ${utc(d.batch.startedAt)}; ended ${utc(d.batch.endedAt)}; generated ${utc(new Date())}`);
  line(`Execution plan SHA-256 ${d.batch.planHash}`, GREY);
  const anchored = d.chain.anchors?.checked
    ? `, and matches its ${d.chain.anchors.checked} anchor(s) kept outside the database`
    : '';
  const integrity = d.chain.firstBreak
    ? `Record integrity: BROKEN at entry ${d.chain.firstBreak.seq} (${d.chain.firstBreak.problem}).`
    : d.chain.anchors?.firstMismatch
      ? `Record integrity: REWRITTEN — entry ${d.chain.anchors.firstMismatch.seq} no longer has the hash anchored on ${d.chain.anchors.firstMismatch.anchoredAt}.`
      : `Record integrity: the hash chain of ${d.entries.length} entries is whole${anchored}.`;
  line(integrity, d.chain.ok ? 'black' : RED);

  const deviations = d.entries.filter((e) => e.kind === 'deviation');
  heading(`Deviations: ${deviations.length}`);
  for (const e of deviations) {
    const x = e.data as {
      stepId: string;
      field: string;
      value: number | null;
      unit: string;
      low?: number;
      high?: number;
      comment: string | null;
      source: string;
    };
    line(
      `Step ${x.stepId}, ${x.field}: ${x.value === null ? 'not measured, limits' : `${x.value} ${x.unit} outside`} ${x.low ?? '−∞'}–${x.high ?? '∞'} (${x.source})${x.comment ? ` — comment: ${x.comment}` : ''} — ${e.userName ?? 'equipment'}, ${utc(e.occurredAt)}`,
      RED,
    );
  }

  heading('Steps');
  for (const step of d.plan.steps) {
    const mine = d.entries.filter((e) => e.stepId === step.id);
    doc
      .moveDown(0.4)
      .font('Helvetica-Bold')
      .fontSize(10)
      .text(`${step.number}. ${step.name}`)
      .font('Helvetica')
      .fontSize(9);
    line(
      `${step.kind} — unit procedure ${step.unitProcedureId}, operation ${step.operation.name}; performed by ${step.performedBy.join('/')}${step.signatures.verified ? `, verified by ${step.signatures.verifiedBy.join('/')}` : ''}`,
      GREY,
    );
    if (mine.length === 0) line('Not started.', GREY);
    for (const e of mine) {
      const data = e.data as Record<string, unknown>;
      switch (e.kind) {
        case 'step-started':
          line(`Started ${utc(e.occurredAt)}${data.rerun ? ` (run ${Number(data.rerun) + 1} after a failure)` : ''}`);
          break;
        case 'values-entered':
          for (const [field, value] of Object.entries((data.values ?? {}) as Record<string, unknown>)) {
            const text = describeValue(step, field, value);
            line(`  ${text}`, text.endsWith('OUT OF LIMITS') ? RED : 'black');
          }
          for (const l of (data.lots ?? []) as { lotNumber: string; quantity: number }[])
            line(`  Lot ${l.lotNumber}: ${l.quantity} ${step.kind === 'material' ? step.quantity.unit : ''}`);
          if (data.comment) line(`  Comment: ${data.comment}`);
          if (data.lateEntry) {
            const late = data.lateEntry as { performedAt: string; reason: string };
            line(
              `  LATE ENTRY: performed ${utc(late.performedAt)}, recorded ${utc(e.occurredAt)} — ${late.reason}`,
              RED,
            );
          }
          line(`  Entered by ${e.userName}, ${utc(e.occurredAt)}`);
          break;
        case 'equipment-parameters':
          line(
            `  Equipment ${data.unit} phase ${data.phase}, command ${data.commandId}: parameters ${JSON.stringify(data.parameters)}${data.reconciled ? ' (reconciled after a restart)' : ''}`,
          );
          break;
        case 'equipment-reports':
          for (const r of (data.reports ?? []) as { id: string; value: number | null; unit: string }[]) {
            const text = describeReport(step, r);
            line(`  Report ${text}`, text.endsWith('OUT OF LIMITS') ? RED : 'black');
          }
          break;
        case 'deviation':
          break; // listed above, and marked in red with the value
        case 'verification':
          line(`  Verified by ${e.userName}, ${utc(e.occurredAt)}`);
          break;
        case 'step-failed':
          line(`  FAILED: ${String(data.message)} (${String(data.type)}), ${utc(e.occurredAt)}`, RED);
          break;
        case 'phase-interrupted':
          line(
            `  INTERRUPTED: the phase was cut off and taken up again at attempt ${String(data.attempt)} — ${data.resumed === 'restarted' ? 'the controller had lost it: it ran again from the start' : 'found still running (or done) and watched on'}, ${utc(e.occurredAt)}`,
            RED,
          );
          break;
        case 'step-completed':
          line(`Completed ${utc(e.occurredAt)}`);
          break;
      }
      const s = sig(e.signature);
      if (s) line(`  ${s}`);
    }
  }

  const yieldEntry = d.entries.find((e) => e.kind === 'yield');
  if (yieldEntry) {
    const y = yieldEntry.data as {
      measured: { value: number; unit: string } | null;
      theoretical: { value: number; unit: string };
      percent: number | null;
      limits: { low: number; high: number };
    };
    const outside = y.percent === null || y.percent < y.limits.low || y.percent > y.limits.high;
    heading('Yield');
    line(
      y.measured
        ? `${y.measured.value} ${y.measured.unit} measured against ${y.theoretical.value} ${y.theoretical.unit} theoretical: ${y.percent} % (limits ${y.limits.low}–${y.limits.high} %)${outside ? ' — OUT OF LIMITS' : ''}`
        : `NOT MEASURED: the output lot carries the theoretical ${y.theoretical.value} ${y.theoretical.unit}`,
      outside ? RED : 'black',
    );
  }

  const batchLevel = d.entries.filter((e) => e.stepId === null);
  heading('Batch events');
  for (const e of batchLevel)
    line(`${utc(e.occurredAt)} — ${e.kind}: ${JSON.stringify(e.data)}${e.userName ? ` — ${e.userName}` : ''}`);

  heading('QA review and disposition');
  if (d.signatures.length === 0) line('Not reviewed yet.', GREY);
  for (const s of d.signatures)
    line(
      `${s.meaning === 'reviewed' ? 'Reviewed (audit trail reviewed)' : s.meaning === 'released' ? 'Released' : s.meaning === 'rejected' ? 'Rejected' : s.meaning}. ${sig(s)}`,
      s.meaning === 'rejected' ? RED : 'black',
    );

  heading(`Audit trail of the batch (${d.audit.length} entries)`);
  for (const a of d.audit)
    line(
      `#${a.seq ?? '…'} ${utc(a.recordedAt)} ${a.userName}: ${a.action} ${JSON.stringify(a.oldValue)} → ${JSON.stringify(a.newValue)}${a.reason ? ` — reason: ${a.reason}` : ''}`,
    );

  doc.end();
  return done;
}

function fieldOf(step: PlanStep, id: string): PlanField | undefined {
  const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  return fields.find((f) => f.id === id);
}

function describeValue(step: PlanStep, id: string, value: unknown): string {
  const f = fieldOf(step, id);
  if (!f) return `${id}: ${String(value)}`;
  if (f.type === 'number') {
    const outside =
      typeof value === 'number' && ((f.low !== undefined && value < f.low) || (f.high !== undefined && value > f.high));
    return `${f.label}: ${String(value)} ${f.unit} (limits ${f.low ?? '−∞'}–${f.high ?? '∞'}${f.target !== undefined ? `, target ${f.target}` : ''})${outside ? ' — OUT OF LIMITS' : ''}`;
  }
  if (f.type === 'passFail') return `${f.label}: ${value === true ? 'pass' : 'FAIL'}`;
  return `${f.label}: ${String(value)}`;
}

function describeReport(step: PlanStep, r: { id: string; value: number | null; unit: string }): string {
  const expected = step.kind === 'equipment' ? step.reports.find((x) => x.id === r.id) : undefined;
  const outside =
    expected &&
    r.value !== null &&
    ((expected.low !== undefined && r.value < expected.low) ||
      (expected.high !== undefined && r.value > expected.high));
  return `${expected?.name ?? r.id}: ${r.value ?? '—'} ${r.unit}${expected ? ` (limits ${expected.low ?? '−∞'}–${expected.high ?? '∞'})` : ''}${outside ? ' — OUT OF LIMITS' : ''}`;
}
