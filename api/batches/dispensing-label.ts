/**
 * The label of a dispensed container: what is in it (material, source lot, net weight), for which batch and step,
 * who dispensed it and when, on which scale (or by a manual weighing) — in words and as a GS1 DataMatrix (bwip-js)
 * of the dispensing's reference, source lot and net weight (`gs1ElementString`), printed beneath it as people read
 * it. A 100 × 70 mm PDF (pdfkit, the fonts
 * embedded), one label per page.
 */
import path from 'node:path';
import { displayUnit } from '../../domain/units';

export interface DispensedContainer {
  batch: string;
  product: string;
  stepId: string;
  stepName: string;
  material: { code: string; name: string };
  lot: string;
  container: string;
  net: number;
  unit: string;
  source: 'scale' | 'manual';
  /** A manual weighing: whether the second person has verified it yet. */
  verified: boolean;
  scale: string | null;
  dispensedBy: string;
  dispensedAt: string;
}

const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONTS = {
  regular: path.join(FONT_DIR, 'DejaVuSans.ttf'),
  bold: path.join(FONT_DIR, 'DejaVuSans-Bold.ttf'),
};
const MM = 72 / 25.4;

/**
 * The GS1 element string of a dispensed container, in the bracketed form bwip-js encodes and people read. Ampoule's
 * materials carry no GTIN, and GS1 allows the lot (AI 10) and net weight (AI 310n) only with one (AI 01 or 02):
 * so the company-internal AIs — 91 the dispensing's reference `batch/step/container` (what a later step scans),
 * 92 the source lot, 93 the net weight with its unit — each at most 90 characters of GS1's character set 82.
 */
export function gs1ElementString(c: DispensedContainer): string {
  // GS1's character set 82, less the brackets the bracketed form reserves for AIs.
  const gs1Text = (s: string) => s.replace(/[^A-Za-z0-9!"%&'*+,\-./:;<=>?_]/g, '-').slice(0, 90);
  return `(91)${gs1Text(`${c.batch}/${c.stepId}/${c.container}`)}(92)${gs1Text(c.lot)}(93)${gs1Text(`${c.net}${c.unit}`)}`;
}

export async function renderDispensingLabel(c: DispensedContainer): Promise<Buffer> {
  // Loaded when a label is printed, not at every start of the API.
  const [{ default: PDFDocument }, bwip] = await Promise.all([import('pdfkit'), import('bwip-js')]);
  const elementString = gs1ElementString(c);
  const code = await bwip.toBuffer({ bcid: 'gs1datamatrix', text: elementString, scale: 4, padding: 0 });
  const doc = new PDFDocument({
    size: [100 * MM, 70 * MM],
    margins: { top: 4 * MM, bottom: 4 * MM, left: 4 * MM, right: 4 * MM },
    font: FONTS.regular,
    info: { Title: `Dispensed ${c.material.code} for batch ${c.batch}`, Author: 'Ampoule' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));

  const left = 4 * MM;
  const textWidth = 60 * MM;
  doc
    .font(FONTS.bold)
    .fontSize(13)
    .text(`${c.material.code}`, left, 4 * MM, { width: textWidth });
  doc.font(FONTS.regular).fontSize(7).text(c.material.name, { width: textWidth });
  doc
    .moveDown(0.4)
    .font(FONTS.bold)
    .fontSize(15)
    .text(`${c.net} ${displayUnit(c.unit)} net`, { width: textWidth });
  doc.font(FONTS.regular).fontSize(8);
  for (const line of [
    `Lot ${c.lot}`,
    `Batch ${c.batch} (${c.product})`,
    `Step ${c.stepId}`,
    `Container ${c.container}`,
    c.source === 'manual'
      ? `MANUAL WEIGHING${c.scale ? ` (scale ${c.scale} down)` : ''}${c.verified ? ', verified' : ' — NOT YET VERIFIED'}`
      : `Weighed on scale ${c.scale}`,
    `Dispensed by ${c.dispensedBy}`,
    `${c.dispensedAt.replace('T', ' ').slice(0, 19)} UTC`,
  ])
    doc.text(line, { width: textWidth });
  doc.image(code, 68 * MM, 6 * MM, { fit: [28 * MM, 28 * MM] });
  doc
    .fontSize(5.5)
    .text(elementString, 4 * MM, 58 * MM, { width: 92 * MM, align: 'left' })
    .text(c.stepName, { width: 92 * MM });
  doc.end();
  return done;
}
