/**
 * What keeps a PDF from being PDF/A-2b, as far as can be checked here: veraPDF, the reference validator, is Java
 * and in neither Debian nor npm. So: qpdf (Debian's `qpdf`), which checks the file's syntax and every stream's
 * encoding, and reads its objects as JSON, on which the clauses of ISO 19005-2 a generator can get wrong are
 * checked — the XMP metadata's PDF/A identification (part 2, conformance B), an output intent (GTS_PDFA1) with its
 * ICC profile, every font embedded, a file identifier, no encryption, no JavaScript. Returns the problems found.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Obj = Record<string, unknown>;

function qpdf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile('qpdf', args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT')
        reject(new Error('qpdf is not installed: apt-get install qpdf (.ci/run installs it)'));
      else resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    }),
  );
}

export async function pdfaProblems(pdf: Buffer): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-pdfa-'));
  try {
    const file = path.join(dir, 'record.pdf');
    writeFileSync(file, pdf);
    const problems: string[] = [];
    const check = await qpdf(['--check', file]);
    // Not even a warning (exit 3) is accepted: an archive copy should read without repairs.
    if (check.code !== 0) problems.push(`qpdf --check: ${check.stdout}${check.stderr}`.trim());
    const json = await qpdf(['--json=2', '--json-stream-data=inline', '--decode-level=generalized', file]);
    if (json.code !== 0 && json.code !== 3) return [...problems, `qpdf --json failed: ${json.stderr}`];
    const [header, objects] = JSON.parse(json.stdout).qpdf as [Obj, Record<string, { value?: Obj; stream?: Obj }>];
    const dict = (ref: unknown): Obj | undefined => {
      const o = objects[`obj:${String(ref)}`];
      return o?.value ?? (o?.stream?.dict as Obj | undefined);
    };
    const streamText = (ref: unknown) => {
      const data = objects[`obj:${String(ref)}`]?.stream?.data;
      return typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : '';
    };
    if (!/^1\.[4-7]$/.test(String(header.pdfversion))) problems.push(`PDF version ${String(header.pdfversion)}`);
    const trailer = objects.trailer?.value ?? {};
    if (!Array.isArray(trailer['/ID'])) problems.push('no file identifier (/ID) in the trailer');
    if (trailer['/Encrypt']) problems.push('encrypted');
    const catalog = dict(trailer['/Root']) ?? {};
    const xmp = streamText(catalog['/Metadata']);
    if (!/<pdfaid:part>2<\/pdfaid:part>/.test(xmp)) problems.push('the XMP metadata does not say PDF/A part 2');
    if (!/<pdfaid:conformance>B<\/pdfaid:conformance>/.test(xmp))
      problems.push('the XMP metadata does not say conformance B');
    const intents = ((catalog['/OutputIntents'] as unknown[]) ?? []).map(dict);
    if (!intents.some((i) => i?.['/S'] === '/GTS_PDFA1' && i['/DestOutputProfile']))
      problems.push('no PDF/A output intent with an ICC profile');
    if (catalog['/Names'] && dict(catalog['/Names'])?.['/JavaScript']) problems.push('JavaScript');
    for (const [key, o] of Object.entries(objects)) {
      const d = o.value;
      if (!d || d['/Type'] !== '/Font') continue;
      const fonts = d['/Subtype'] === '/Type0' ? ((d['/DescendantFonts'] as unknown[]) ?? []).map(dict) : [d];
      for (const f of fonts) {
        const descriptor = dict(f?.['/FontDescriptor']);
        if (!descriptor?.['/FontFile2'] && !descriptor?.['/FontFile3'] && !descriptor?.['/FontFile'])
          problems.push(`font ${String(f?.['/BaseFont'] ?? d['/BaseFont'])} (${key}) is not embedded`);
      }
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
