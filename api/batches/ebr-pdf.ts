/**
 * The batch record a QA reviewer signs, as an archive-fit PDF (pdfkit, PDF/A-2b: every font embedded — DejaVu
 * Sans, so `→`, `°C`, `10⁶` print as written — XMP metadata, an sRGB output intent). The cover names the batch
 * and states the record's integrity: its hash chain, its archived workflow history (SHA-256), the replay and the
 * cross-check of record against history, QA's signatures and the deviations with their state. Then every step in
 * order: values, lots, equipment parameters and reports in tables against their limits and units (units as people
 * write them), what happened when, and each signature's manifestation in one block; the yield; the batch's events
 * and its audit trail as sentences and tables. A header and a footer on every page: batch, product, page x of y.
 */
import path from 'node:path';
import type { AuditEntry } from '../../db/stores/audit-store';
import type { AssignedUnit } from '../../domain/batch/types';
import { batchEventText, changeText, limitsText, quantityText, utcText } from '../../domain/batch/record-text';
import {
  stepDescription,
  stepEntryBlocks,
  type RecordEntry,
  type RecordTableKind,
} from '../../domain/batch/record-blocks';
import type { ScaledPlan } from '../../domain/recipe/plan';
import type { SignatureManifestation } from '../signatures/signature-service';

/** A record entry as printed: the shape the record's words are made from, with its hash. */
type Entry = RecordEntry<SignatureManifestation> & { hash: string };

/** What the cover says of the record held against its workflow history. */
export type RecordInvestigation =
  | {
      available: true;
      source: 'archive' | 'temporal' | 'file';
      runs: { runId: string; events: number; sha256: string }[];
      historyIntact: boolean | null;
      /** The replay's and the cross-check's; absent when they were not run for this copy (they are QA's). */
      verdicts?: {
        deterministic: boolean;
        error?: string;
        crossCheck: { verdict: string; counts: Record<string, number> };
      };
    }
  | { available: false; reason: string; exception?: string };

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
  /** The units' phase interfaces: the units equipment parameters were sent in. */
  unitInterfaces: Record<string, AssignedUnit>;
  plan: ScaledPlan;
  chain: {
    ok: boolean;
    firstBreak?: { seq: number; problem: string };
    anchors?: { checked: number; firstMismatch?: { seq: number; anchoredAt: string } };
  };
  entries: Entry[];
  /** The batch's audit trail and its deviations', sealed (every entry has its place in the chain), in chain order. */
  audit: AuditEntry[];
  /** QA's signatures on the batch as a whole: reviewed, released, rejected. */
  signatures: SignatureManifestation[];
  deviations: {
    number: string;
    stepId: string | null;
    title: string;
    severity: string | null;
    state: string;
    closeSignature: SignatureManifestation | null;
  }[];
  investigation: RecordInvestigation;
  generatedAt: Date;
  /** `Ampoule 0.1.0`. */
  generator: string;
}

const RED = '#b00020';
const GREY = '#555555';
const RULE = '#999999';
const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONTS = {
  regular: path.join(FONT_DIR, 'DejaVuSans.ttf'),
  bold: path.join(FONT_DIR, 'DejaVuSans-Bold.ttf'),
};
const MARGIN = { top: 66, bottom: 58, left: 48, right: 48 };

type Cell = string | PDFKit.Mixins.CellOptions;
type Doc = PDFKit.PDFDocument;

export async function renderEbrPdf(d: EbrDocument): Promise<Buffer> {
  // Loaded when a record is printed, not at every start of the API (a quarter of a second).
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    bufferPages: true, // the header and footer (page x of y) are written once every page exists
    pdfVersion: '1.7',
    subset: 'PDF/A-2b',
    lang: 'en',
    displayTitle: true,
    font: FONTS.regular, // never a standard font: PDF/A embeds every font it uses
    info: {
      Title: `Batch record ${d.batch.number}`,
      Author: d.generator,
      Subject: `${d.batch.product.name} (${d.batch.product.code}), recipe ${d.batch.recipe.code} v${d.batch.recipe.version}`,
      Creator: d.generator,
      CreationDate: d.generatedAt,
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  const w = new Writer(doc);

  cover(w, d);
  steps(w, d);
  yieldSection(w, d);
  batchEvents(w, d);
  auditTrail(w, d);
  headersAndFooters(doc, d);

  doc.end();
  return done;
}

/** The few ways the record is written: headings, sentences, tables, signature blocks. */
class Writer {
  constructor(readonly doc: Doc) {}

  heading(text: string, size = 13): void {
    this.keepWith(size * 3);
    this.doc
      .moveDown(0.7)
      .font(FONTS.bold)
      .fontSize(size)
      .fillColor('black')
      .text(text)
      .font(FONTS.regular)
      .fontSize(9);
    this.doc.moveDown(0.2);
  }

  line(text: string, color = 'black'): void {
    this.doc.fillColor(color).text(text).fillColor('black');
  }

  /** A table (with a header row unless `header` is null); `red` marks rows to print in red (outside limits). Nothing is printed for no rows. */
  table(header: string[] | null, rows: Cell[][], widths: (number | '*')[], red: boolean[] = []): void {
    if (rows.length === 0) return;
    this.keepWith(40);
    this.doc.moveDown(0.2);
    this.doc.font(FONTS.regular).fontSize(8);
    this.doc.table({
      columnStyles: widths.map((width) => ({ width })),
      defaultStyle: { border: 0.5, borderColor: RULE, padding: 3 },
      data: [
        ...(header ? [header.map((h) => ({ text: h, font: { src: FONTS.bold } }))] : []),
        ...rows.map((r, i) => (red[i] ? r.map((c) => (typeof c === 'string' ? { text: c, textColor: RED } : c)) : r)),
      ],
    });
    this.doc.moveDown(0.3).font(FONTS.regular).fontSize(9);
    this.doc.x = this.doc.page.margins.left;
  }

  /** A signature's manifestation, kept together on one page: who, as whom, what it means, when, and the comment. */
  signature(s: SignatureManifestation, label?: string): void {
    const text = `${label ? `${label} — ` : ''}signed by ${s.signedBy} (${s.username}), meaning: ${s.meaning}, ${utcText(s.signedAt)}${s.comment ? `. Comment: ${s.comment}` : ''}`;
    const width = this.doc.page.width - MARGIN.left - MARGIN.right - 12;
    const height = this.doc.heightOfString(text, { width }) + 8;
    this.keepWith(height);
    const top = this.doc.y;
    this.doc
      .rect(MARGIN.left, top, width + 12, height)
      .lineWidth(0.5)
      .strokeColor(RULE)
      .stroke();
    this.doc.fillColor('black').text(text, MARGIN.left + 6, top + 4, { width });
    this.doc.x = MARGIN.left;
    this.doc.y = top + height + 4;
  }

  /** Starts a new page unless `height` points still fit on this one. */
  keepWith(height: number): void {
    if (this.doc.y + height > this.doc.page.height - MARGIN.bottom) this.doc.addPage();
  }
}

function cover(w: Writer, d: EbrDocument): void {
  const { doc } = w;
  doc.font(FONTS.bold).fontSize(20).text('Electronic batch record');
  doc.font(FONTS.regular).fontSize(11).fillColor(GREY).text(`Batch ${d.batch.number}`).fillColor('black');
  doc.fontSize(9).moveDown(0.5);
  const units = Object.entries(d.batch.units)
    .map(([up, unit]) => `${up}: ${unit}`)
    .join(', ');
  w.table(
    null,
    [
      ['Batch', d.batch.number],
      ['Product', `${d.batch.product.name} (${d.batch.product.code})`],
      ['Recipe', `${d.batch.recipe.name} — ${d.batch.recipe.code} version ${d.batch.recipe.version}`],
      ['Batch size', quantityText(d.batch.batchSize.value, d.batch.batchSize.unit)],
      ['Output lot', d.batch.outputLot],
      ['Status', d.batch.status],
      ['Equipment', units || '—'],
      ['Started', utcText(d.batch.startedAt)],
      ['Ended', utcText(d.batch.endedAt)],
      ['Execution plan SHA-256', d.batch.planHash],
    ],
    [120, '*'],
  );

  w.heading('Integrity of the record', 11);
  const integrity: [string, string, boolean][] = [recordChain(d)];
  integrity.push(...investigationRows(d.investigation));
  w.table(
    null,
    integrity.map(([k, v]) => [k, v]),
    [120, '*'],
    integrity.map(([, , bad]) => bad),
  );

  w.heading('QA review and disposition', 11);
  if (d.signatures.length === 0) w.line('Not reviewed yet.', GREY);
  for (const s of d.signatures)
    w.signature(
      s,
      s.meaning === 'reviewed'
        ? 'Reviewed (audit trail reviewed)'
        : s.meaning === 'released'
          ? 'Released'
          : s.meaning === 'rejected'
            ? 'Rejected'
            : s.meaning,
    );

  w.heading(`Deviations: ${d.deviations.length}`, 11);
  w.table(
    ['Deviation', 'Step', 'What was found', 'Severity', 'State'],
    d.deviations.map((x) => [
      x.number,
      x.stepId ?? '—',
      x.title,
      x.severity ?? 'not classified',
      x.state === 'closed' && x.closeSignature
        ? `closed by ${x.closeSignature.signedBy}, ${utcText(x.closeSignature.signedAt)}`
        : x.state,
    ]),
    [88, 70, '*', 58, 90],
    d.deviations.map((x) => x.state !== 'closed'),
  );
}

function recordChain(d: EbrDocument): [string, string, boolean] {
  const { chain } = d;
  if (chain.firstBreak)
    return ['Record integrity', `BROKEN at entry ${chain.firstBreak.seq} (${chain.firstBreak.problem}).`, true];
  if (chain.anchors?.firstMismatch)
    return [
      'Record integrity',
      `REWRITTEN — entry ${chain.anchors.firstMismatch.seq} no longer has the hash anchored on ${chain.anchors.firstMismatch.anchoredAt}.`,
      true,
    ];
  const anchored = chain.anchors?.checked
    ? `, and matches its ${chain.anchors.checked} anchor(s) kept outside the database`
    : '';
  return ['Record integrity', `The hash chain of ${d.entries.length} entries is whole${anchored}.`, !chain.ok];
}

function investigationRows(i: RecordInvestigation): [string, string, boolean][] {
  if (!i.available)
    return [
      [
        'Workflow history',
        `Not available: ${i.reason}${i.exception ? ` — deviation ${i.exception}, closed and signed, stands in for the investigation` : ''}`,
        !i.exception,
      ],
    ];
  const where =
    i.source === 'archive' ? 'archived with the record' : 'not archived yet: read from Temporal, the batch still runs';
  const history: [string, string, boolean] = [
    'Workflow history',
    `${where}; ${i.runs.map((r, n) => `run ${n + 1}: ${r.events} events, SHA-256 ${r.sha256}`).join('; ')}${i.historyIntact === false ? ' — NOT the history whose SHA-256 the record holds' : ''}`,
    i.historyIntact === false,
  ];
  const v = i.verdicts;
  if (!v)
    return [
      history,
      ['Replay and cross-check', 'not run for this copy: they are QA’s (the review, or POST …/replay)', false],
    ];
  const c = v.crossCheck.counts;
  const entries = Object.values(c).reduce((a, b) => a + b, 0);
  return [
    history,
    [
      'Replay',
      v.deterministic
        ? 'the workflow code this Ampoule runs reproduces the history exactly'
        : `NOT DETERMINISTIC: ${v.error ?? 'the code does not reproduce the history'}`,
      !v.deterministic,
    ],
    [
      'Cross-check',
      v.crossCheck.verdict === 'match'
        ? `the record matches its history entry for entry (${entries} entries rebuilt from the history)`
        : `MISMATCH: ${c.differs ?? 0} entries differ, ${c['missing-in-record'] ?? 0} missing in the record, ${c['extra-in-record'] ?? 0} not written by the workflow`,
      v.crossCheck.verdict !== 'match',
    ],
  ];
}

/** Column widths of each of a step's tables. */
const TABLE_WIDTHS: Record<RecordTableKind, (number | '*')[]> = {
  values: ['*', 70, 50, 70, 45, 75],
  lots: ['*', 90, 70],
  parameters: ['*', 90, 70],
  reports: ['*', 70, 60, 80, 75],
};

function steps(w: Writer, d: EbrDocument): void {
  const { doc } = w;
  doc.addPage();
  w.heading('Steps', 14);
  for (const step of d.plan.steps) {
    const mine = d.entries.filter((e) => e.stepId === step.id);
    w.keepWith(60);
    doc
      .moveDown(0.5)
      .font(FONTS.bold)
      .fontSize(10)
      .text(`${step.number}. ${step.name}`)
      .font(FONTS.regular)
      .fontSize(9);
    w.line(stepDescription(step, d.batch.units[step.unitProcedureId]), GREY);
    if (mine.length === 0) w.line('Not started.', GREY);
    for (const e of mine)
      for (const b of stepEntryBlocks(step, e, d.unitInterfaces)) {
        if (b.kind === 'line') w.line(b.text, b.alarm ? RED : 'black');
        else if (b.kind === 'table') w.table(b.headers, b.rows, TABLE_WIDTHS[b.table], b.outside);
        else w.signature(b.signature, b.label);
      }
  }
}

function yieldSection(w: Writer, d: EbrDocument): void {
  const entry = d.entries.find((e) => e.kind === 'yield');
  if (!entry) return;
  const y = entry.data as {
    measured: { value: number; unit: string } | null;
    theoretical: { value: number; unit: string };
    percent: number | null;
    limits: { low: number; high: number };
  };
  const outside = y.percent === null || y.percent < y.limits.low || y.percent > y.limits.high;
  w.heading('Yield');
  w.table(
    ['Measured', 'Theoretical', 'Yield', 'Limits', ''],
    [
      [
        y.measured ? quantityText(y.measured.value, y.measured.unit) : 'NOT MEASURED',
        quantityText(y.theoretical.value, y.theoretical.unit),
        y.percent === null ? '—' : `${y.percent} %`,
        `${limitsText(y.limits.low, y.limits.high)} %`,
        outside ? 'OUT OF LIMITS' : '',
      ],
    ],
    [110, 110, 70, 80, '*'],
    [outside],
  );
}

function batchEvents(w: Writer, d: EbrDocument): void {
  const events = d.entries.filter((e) => e.stepId === null && e.kind !== 'yield');
  w.heading('Batch events');
  w.table(
    ['Time', 'Event', 'By'],
    events.map((e) => [
      utcText(e.occurredAt),
      batchEventText(e.kind, e.data as Record<string, unknown>),
      e.userName ?? 'Ampoule',
    ]),
    [100, '*', 100],
  );
}

function auditTrail(w: Writer, d: EbrDocument): void {
  w.heading(`Audit trail of the batch and its deviations (${d.audit.length} entries)`);
  w.table(
    ['#', 'Time', 'Who', 'Action', 'What changed', 'Reason'],
    d.audit.map((a) => [
      a.seq === null ? '…' : String(a.seq), // committed after the seal, a moment before printing
      utcText(a.recordedAt),
      a.userName,
      a.entityType === 'batch' ? a.action : `${a.action} (${a.entityType})`,
      changeText(a.oldValue, a.newValue) || '—',
      a.reason ?? '',
    ]),
    [34, 68, 72, 52, '*', 90],
  );
}

/** On every page: the batch and product above, the generator and page x of y below. */
function headersAndFooters(doc: Doc, d: EbrDocument): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Written in the margins: without them for a moment, so that pdfkit does not break to a new page.
    const margins = doc.page.margins;
    doc.page.margins = { top: 0, bottom: 0, left: 0, right: 0 };
    const width = doc.page.width - MARGIN.left - MARGIN.right;
    doc.font(FONTS.regular).fontSize(8).fillColor(GREY);
    doc.text(
      `Batch ${d.batch.number} · ${d.batch.product.name} (${d.batch.product.code}) · ${d.batch.recipe.code} v${d.batch.recipe.version}`,
      MARGIN.left,
      MARGIN.top - 30,
      { width, lineBreak: false },
    );
    doc
      .moveTo(MARGIN.left, MARGIN.top - 16)
      .lineTo(MARGIN.left + width, MARGIN.top - 16)
      .lineWidth(0.5)
      .strokeColor(RULE)
      .stroke();
    const bottom = doc.page.height - MARGIN.bottom + 18;
    doc.text(`Generated ${utcText(d.generatedAt)} by ${d.generator}`, MARGIN.left, bottom, { width, lineBreak: false });
    doc.text(`Page ${i - range.start + 1} of ${range.count}`, MARGIN.left, bottom, {
      width,
      align: 'right',
      lineBreak: false,
    });
    doc.page.margins = margins;
  }
  doc.fillColor('black');
}
