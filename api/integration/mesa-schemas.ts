/**
 * MESA International's B2MML/BatchML V0600 schemas (in `schemas/b2mml-v0600/`, the closure of the three Ampoule
 * exchanges — used courtesy of MESA International), checked by libxml2 compiled to WebAssembly (`xmllint-wasm`, in
 * a worker thread: no native binding, no file or network access). What a document gets from MESA's schema are
 * libxml2's complaints, each with its line: none for a valid one.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';

const DIR = path.join(__dirname, 'schemas', 'b2mml-v0600');

export type MesaSchema =
  | 'BatchML-V0600-BatchProductionRecord.xsd'
  | 'B2MML-V0600-ProductionPerformance.xsd'
  | 'B2MML-V0600-ProductionSchedule.xsd';

let files: { fileName: string; contents: string }[] | undefined;
/** One validation at a time: each is a worker thread with up to 16 MiB of WebAssembly memory. */
let queue: Promise<unknown> = Promise.resolve();

export function mesaSchemaErrors(xml: string, schema: MesaSchema): Promise<{ line: number | null; message: string }[]> {
  const turn = queue.then(() => validate(xml, schema));
  queue = turn.catch(() => undefined);
  return turn;
}

async function validate(xml: string, schema: MesaSchema): Promise<{ line: number | null; message: string }[]> {
  files ??= readdirSync(DIR)
    .filter((f) => f.endsWith('.xsd'))
    .map((fileName) => ({ fileName, contents: readFileSync(path.join(DIR, fileName), 'utf8') }));
  const main = files.find((f) => f.fileName === schema)!;
  const result = await validateXML({
    xml: [{ fileName: 'document.xml', contents: xml }],
    schema: [main],
    preload: files.filter((f) => f !== main),
  });
  return result.valid
    ? []
    : result.errors
        // The schemas' notices about their own imports, and the closing "fails to validate", are not complaints.
        .filter((e) => e.loc?.fileName === 'document.xml' && !/fails to validate/.test(e.message))
        .map((e) => ({ line: e.loc?.lineNumber ?? null, message: e.message.trim() }));
}
