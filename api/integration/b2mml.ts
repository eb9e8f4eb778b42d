/**
 * B2MML (MESA's XML implementation of ISA-95, V0600 namespace) as Ampoule reads and writes it: the
 * `ProcessProductionSchedule` an ERP sends (each `ProductionRequest` a production order) and the
 * `AcknowledgeProductionSchedule` that answers it.
 *
 * Parsed with fast-xml-parser (pure JavaScript; no DTDs: a document with a DOCTYPE is refused, so no entity is ever
 * expanded) and validated against Ampoule's own schema of the elements it reads (below, zod; every refusal names
 * where the document is wrong, as an XPath) — then, by the route, against MESA's own XSD (`mesa-schemas.ts`).
 *
 * The Business To Manufacturing Markup Language (B2MML) is used courtesy of MESA International.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { erpUnitOfUcum, ucumOfErpUnit } from '../../domain/integration/erp-units';
import type { RequiredMaterial } from '../../domain/orders/production-order';
import { Problem } from '../http/problems';
import type { NewOrderInput } from '../orders/order-service';

export const B2MML_NS = 'http://www.mesa.org/xml/B2MML-V0600';

/** Elements that may repeat: always arrays, so that one and several read alike. */
const REPEATED = new Set([
  'ProductionSchedule',
  'ProductionRequest',
  'SegmentRequirement',
  'MaterialProducedRequirement',
  'MaterialConsumedRequirement',
  'Quantity',
]);

const text = z.string().trim().min(1, 'is empty');
const quantitySchema = z.object({
  QuantityString: text.regex(/^[+]?\d+(\.\d+)?([eE][+-]?\d+)?$/, 'is not a decimal number'),
  UnitOfMeasure: text,
});
const materialRequirement = z.object({
  MaterialDefinitionID: text,
  Quantity: z.array(quantitySchema).length(1, 'needs exactly one Quantity'),
});
const dateTime = text.pipe(z.iso.datetime({ offset: true, error: 'is not an xs:dateTime with a time zone' }));
const productionRequest = z.object({
  ID: text.regex(
    /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/,
    'is not an order number Ampoule takes (1–64 of A-Z a-z 0-9 . _ / -)',
  ),
  ProductProductionRuleID: text.optional(),
  StartTime: dateTime.optional(),
  EndTime: dateTime.optional(),
  SegmentRequirement: z
    .array(
      z.object({
        MaterialProducedRequirement: z.array(materialRequirement).optional(),
        MaterialConsumedRequirement: z.array(materialRequirement).optional(),
      }),
    )
    .min(1, 'needs a SegmentRequirement'),
});
const processProductionSchedule = z.object({
  ApplicationArea: z.object({ CreationDateTime: text.optional() }).optional(),
  DataArea: z.object({
    ProductionSchedule: z
      .array(
        z.object({
          ID: text.optional(),
          ProductionRequest: z.array(productionRequest).min(1, 'needs a ProductionRequest'),
        }),
      )
      .length(1, 'needs exactly one ProductionSchedule'),
  }),
});

/** A production order as a `ProductionRequest` asks for it (units already in UCUM). */
export interface RequestedOrder extends NewOrderInput {
  materials: RequiredMaterial[];
  /** Where it is in the document, for problems found later (a number taken, an unknown material). */
  xpath: string;
}

export interface ProductionScheduleDocument {
  scheduleId: string | null;
  orders: RequestedOrder[];
}

const ROOT = 'ProcessProductionSchedule';

/**
 * The parser's result, or a refusal: it refuses some well-formed documents (an element named like a property of
 * every object, `__proto__` or `constructor`; nesting deeper than it allows), and those are the sender's to fix.
 */
function parsed(parse: () => unknown): Record<string, unknown> {
  try {
    return parse() as Record<string, unknown>;
  } catch (err) {
    throw invalidDocument('/', `not a document Ampoule reads: ${(err as Error).message}`);
  }
}

/** A refusal naming where the document is wrong (and, when MESA's schema refuses it, the line). */
export function invalidDocument(xpath: string, message: string, line?: number | null): Problem {
  return new Problem('invalid-document', `${xpath}: ${message}`, { xpath, ...(line ? { line } : {}) });
}

/**
 * The first of MESA's schema's complaints as a refusal: libxml2 names the element (not its path), so `xpath` is
 * `//` and its local name, and `line` says which of them.
 */
export function schemaRefusal(errors: readonly { line: number | null; message: string }[]): Problem {
  const [first] = errors;
  const element = /Element '(?:\{[^}]*\})?([^']+)'/.exec(first.message)?.[1];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return invalidDocument(
    element ? `//${element}` : '/',
    `not valid against MESA's B2MML V0600 schema${first.line ? ` at line ${first.line}` : ''}: ${first.message.replace(/^.*?Schemas validity error : /, '')}${more}`,
    first.line,
  );
}

/** An XPath of a zod issue's path under the root element: `/ProcessProductionSchedule/DataArea/…/ID`. */
function xpathOf(path: readonly PropertyKey[]): string {
  let out = `/${ROOT}`;
  for (const segment of path) out += typeof segment === 'number' ? `[${segment + 1}]` : `/${String(segment)}`;
  return out;
}

/** Reads a `ProcessProductionSchedule`: well-formed, in the B2MML V0600 namespace, what Ampoule reads where it should be. */
export function readProductionSchedule(xml: string): ProductionScheduleDocument {
  if (/<!DOCTYPE/i.test(xml)) throw invalidDocument('/', 'a DOCTYPE is not accepted (B2MML needs none)');
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true)
    throw invalidDocument(
      '/',
      `not well-formed XML at line ${wellFormed.err.line}, column ${wellFormed.err.col}: ${wellFormed.err.msg}`,
    );
  // The root and its namespace, prefixes as written.
  const raw = parsed(() => new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml));
  const rootName = Object.keys(raw).find((k) => !k.startsWith('?'));
  const [prefix, local] = rootName?.includes(':') ? rootName.split(':') : [undefined, rootName];
  if (local !== ROOT) throw invalidDocument(`/${rootName ?? ''}`, `expected ${ROOT}`);
  const attributes = raw[rootName!] as Record<string, unknown>;
  const ns = attributes?.[prefix ? `@_xmlns:${prefix}` : '@_xmlns'];
  if (ns !== B2MML_NS)
    throw invalidDocument(`/${ROOT}`, `expected the B2MML V0600 namespace ${B2MML_NS}, not ${String(ns ?? 'none')}`);

  const doc = parsed(() =>
    new XMLParser({
      ignoreAttributes: true,
      removeNSPrefix: true,
      parseTagValue: false,
      isArray: (name) => REPEATED.has(name),
    }).parse(xml),
  );
  const checked = processProductionSchedule.safeParse(doc[ROOT], { reportInput: true });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw invalidDocument(
      xpathOf(issue.path),
      issue.code === 'invalid_type' && issue.input === undefined ? 'is missing' : issue.message,
    );
  }
  const schedule = checked.data.DataArea.ProductionSchedule[0];
  const orders = schedule.ProductionRequest.map((r, i): RequestedOrder => {
    const at = `/${ROOT}/DataArea/ProductionSchedule[1]/ProductionRequest[${i + 1}]`;
    const produced = r.SegmentRequirement.flatMap((s, si) =>
      (s.MaterialProducedRequirement ?? []).map((m, mi) => ({
        m,
        at: `${at}/SegmentRequirement[${si + 1}]/MaterialProducedRequirement[${mi + 1}]`,
      })),
    );
    if (produced.length !== 1)
      throw invalidDocument(at, `needs exactly one MaterialProducedRequirement (the product), has ${produced.length}`);
    const consumed = r.SegmentRequirement.flatMap((s, si) =>
      (s.MaterialConsumedRequirement ?? []).map((m, mi) => ({
        m,
        at: `${at}/SegmentRequirement[${si + 1}]/MaterialConsumedRequirement[${mi + 1}]`,
      })),
    );
    const amount = (m: z.infer<typeof materialRequirement>, where: string) => {
      const q = m.Quantity[0];
      const unit = ucumOfErpUnit(q.UnitOfMeasure);
      if (!unit)
        throw invalidDocument(
          `${where}/Quantity[1]/UnitOfMeasure`,
          `the unit ${q.UnitOfMeasure} is not in Ampoule's table of ERP units (README: Integration); it is not guessed`,
        );
      return { quantity: Number(q.QuantityString), unit };
    };
    const product = amount(produced[0].m, produced[0].at);
    return {
      number: r.ID,
      product: produced[0].m.MaterialDefinitionID,
      ...product,
      ...(r.StartTime ? { requestedStart: r.StartTime } : {}),
      ...(r.EndTime ? { requestedEnd: r.EndTime } : {}),
      ...(r.ProductProductionRuleID ? { recipe: r.ProductProductionRuleID } : {}),
      materials: consumed.map(({ m, at: where }) => ({ material: m.MaterialDefinitionID, ...amount(m, where) })),
      xpath: at,
    };
  });
  return { scheduleId: schedule.ID ?? null, orders };
}

/** The `AcknowledgeProductionSchedule` answering a schedule: each production request, accepted as the order it became. */
export function acknowledgeProductionSchedule(
  doc: ProductionScheduleDocument,
  accepted: { number: string; state: string }[],
  at: Date,
): string {
  const body = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    AcknowledgeProductionSchedule: {
      '@_xmlns': B2MML_NS,
      '@_releaseID': '6.0',
      ApplicationArea: { CreationDateTime: at.toISOString() },
      DataArea: {
        Acknowledge: '',
        ProductionSchedule: {
          ...(doc.scheduleId ? { ID: doc.scheduleId } : {}),
          ProductionRequest: accepted.map((o) => ({ ID: o.number, RequestState: requestState(o.state) })),
        },
      },
    },
  };
  return new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true }).build(xmlSafe(body));
}

/**
 * Text as XML 1.0 may hold it: a character the standard forbids even escaped (most control characters, a lone
 * surrogate) becomes U+FFFD, so that a pasted control character cannot make a whole document unreadable.
 */
/* eslint-disable no-control-regex -- the control characters are what it finds */
const NOT_XML =
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/* eslint-enable no-control-regex */

/** Every string of a document's object tree as XML may hold it (`NOT_XML`), before it is built. */
export function xmlSafe<T>(node: T): T {
  if (typeof node === 'string') return node.replace(NOT_XML, '\uFFFD') as T;
  if (Array.isArray(node)) return node.map(xmlSafe) as T;
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, xmlSafe(v)])) as T;
  return node;
}

/** A batch as its ProductionPerformance tells it: times, state, and what it produced and consumed, lot by lot. */
export interface BatchPerformance {
  batch: string;
  order: string | null;
  unitProcedure: string;
  status: string;
  startedAt: Date | null;
  endedAt: Date | null;
  produced: { material: string; lotNumber: string; quantity: number; unit: string }[];
  consumed: { material: string; lotNumber: string; quantity: number; unit: string }[];
}

/**
 * ISA-95 response states (V0600's enumeration: Ready, Running, Completed, Aborted, Holding, Paused, Other) for
 * Ampoule's batch statuses: a dispositioned batch has completed; a stopped one is `Other` with `OtherValue`.
 */
const RESPONSE_STATE: Record<string, string> = {
  created: 'Ready',
  running: 'Running',
  held: 'Holding',
  complete: 'Completed',
  reviewed: 'Completed',
  released: 'Completed',
  rejected: 'Completed',
  aborted: 'Aborted',
};

const responseState = (status: string) => RESPONSE_STATE[status] ?? { '@_OtherValue': status, '#text': 'Other' };

/** An order's state as V0600's request states say it (Forecast, Released, Other with `OtherValue`). */
function requestState(state: string) {
  return state === 'planned'
    ? 'Forecast'
    : state === 'released'
      ? 'Released'
      : { '@_OtherValue': state, '#text': 'Other' };
}

/**
 * A `ProductionPerformance` (B2MML V0600) of one batch: its `ProductionResponse` (the order it answers, when it
 * has one), times and state, and one `SegmentResponse` with each lot produced and consumed in the ERP's unit
 * codes (the table's, back from UCUM) — quantities as recorded, in full precision.
 */
export function productionPerformance(p: BatchPerformance, at: Date): string {
  const quantity = (value: number, ucum: string) => {
    const code = erpUnitOfUcum(ucum);
    if (!code) throw new Problem('unprocessable', `the unit ${ucum} has no ERP code in Ampoule's table`);
    return { QuantityString: String(value), DataType: 'double', UnitOfMeasure: code };
  };
  const material = (m: BatchPerformance['produced'][number]) => ({
    MaterialDefinitionID: m.material,
    MaterialLotID: m.lotNumber,
    Quantity: quantity(m.quantity, m.unit),
  });
  const body = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    ProductionPerformance: {
      '@_xmlns': B2MML_NS,
      ID: p.batch,
      PublishedDate: at.toISOString(),
      ProductionResponse: {
        ID: p.batch,
        ...(p.order ? { ProductionRequestID: p.order } : {}),
        ...(p.startedAt ? { StartTime: p.startedAt.toISOString() } : {}),
        ...(p.endedAt ? { EndTime: p.endedAt.toISOString() } : {}),
        SegmentResponse: {
          ID: p.unitProcedure,
          ...(p.startedAt ? { ActualStartTime: p.startedAt.toISOString() } : {}),
          ...(p.endedAt ? { ActualEndTime: p.endedAt.toISOString() } : {}),
          MaterialProducedActual: p.produced.map(material),
          MaterialConsumedActual: p.consumed.map(material),
        },
        ResponseState: responseState(p.status),
      },
    },
  };
  return new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true }).build(xmlSafe(body));
}
