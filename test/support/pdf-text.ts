/**
 * What a PDF shows, for tests to read: its text as Mozilla's PDF.js extracts it (through the fonts' ToUnicode
 * maps, as a reader's copy and paste would), page by page, runs joined by spaces, whitespace collapsed — a phrase
 * pdfkit wrapped over two lines reads as one. PDF.js runs in a process of its own (`pdf-text-extract.mjs`).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

export function pdfPages(pdf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [path.join(__dirname, 'pdf-text-extract.mjs')],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    );
    child.stdin!.end(pdf);
  });
}

export async function pdfText(pdf: Buffer): Promise<string> {
  return (await pdfPages(pdf)).join(' ');
}
