// Prints the text of the PDF read from stdin, as JSON (one string per page), the way Mozilla's PDF.js extracts it.
// A script of its own: PDF.js is an ES module, which jest on Node 20 cannot load.
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const doc = await getDocument({ data: new Uint8Array(Buffer.concat(chunks)), isEvalSupported: false, verbosity: 0 })
  .promise;
const pages = [];
for (let i = 1; i <= doc.numPages; i++) {
  const content = await (await doc.getPage(i)).getTextContent();
  pages.push(
    content.items
      .map((item) => item.str ?? '')
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}
await doc.destroy();
process.stdout.write(JSON.stringify(pages));
