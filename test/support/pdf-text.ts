/**
 * The text a PDF written by pdfkit shows, for tests to read: its Flate-compressed content streams
 * inflated, each text-showing array (`[<hex> kerning <hex>] TJ`) decoded from WinAnsi, one line each, the
 * lines joined by spaces (pdfkit wraps long lines, so a phrase may span two).
 */
import { inflateSync } from 'node:zlib';

/** The WinAnsi codes above Latin-1's printable range that Ampoule's texts use. */
const WIN_ANSI: Record<number, string> = {
  0x91: '‘',
  0x92: '’',
  0x93: '“',
  0x94: '”',
  0x96: '–',
  0x97: '—',
  0x85: '…',
};

export function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const lines: string[] = [];
  for (const m of raw.matchAll(/stream\r?\n/g)) {
    const start = m.index + m[0].length;
    const end = raw.indexOf('endstream', start);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString('latin1');
    } catch {
      continue; // not a compressed content stream (an image, a font)
    }
    for (const tj of content.matchAll(/\[([^\]]*)\]\s*TJ/g)) {
      const hex = [...tj[1].matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => h[1]).join('');
      lines.push([...Buffer.from(hex, 'hex')].map((c) => WIN_ANSI[c] ?? String.fromCharCode(c)).join(''));
    }
  }
  return lines.join(' ').replace(/\s+/g, ' ');
}
