/** Reading and verifying the audit trail (QA and administrators). */
import { z } from 'zod';
import { signatureManifestationSchema } from '../signatures/signature-service';
import { toCsv } from '../http/csv';
import { MAX_LIMIT, decodeCursor, encodeCursor, listOf, listQuery } from '../http/list';
import { validationFailed } from '../http/problems';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';

const auditEntrySchema = z
  .object({
    seq: z.int().nullable().describe('position in the hash chain; null for the moments until the entry is sealed'),
    id: z.uuid(),
    recordedAt: z.iso.datetime().describe('database-server time, UTC'),
    userId: z.uuid().nullable(),
    username: z.string().nullable(),
    userName: z.string().describe('printed name'),
    action: z.string(),
    entityType: z.string(),
    entityId: z.string(),
    oldValue: z.unknown(),
    newValue: z.unknown(),
    reason: z.string().nullable(),
    clientAddress: z.string().nullable(),
    requestId: z.string().nullable(),
    prevHash: z.string().nullable(),
    hash: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

const CSV_COLUMNS = [
  'seq',
  'recordedAt',
  'userId',
  'username',
  'userName',
  'action',
  'entityType',
  'entityId',
  'oldValue',
  'newValue',
  'reason',
  'clientAddress',
  'requestId',
  'prevHash',
  'hash',
] as const;

const anchorVerdictSchema = z.object({
  checked: z.int().describe('anchors whose signature verified'),
  unverifiable: z.int().describe('anchors whose signature does not verify with the configured key'),
  firstMismatch: z
    .object({
      chain: z.enum(['audit', 'ebr']),
      batch: z.string().optional(),
      seq: z.int(),
      anchoredHash: z.string(),
      storedHash: z.string().nullable(),
      anchoredAt: z.iso.datetime(),
      reason: z.string(),
    })
    .optional()
    .describe('the first anchored head that no longer matches the chain'),
  behind: z
    .object({ anchoredUpTo: z.int(), firstUnanchored: z.object({ seq: z.int(), recordedAt: z.iso.datetime() }) })
    .optional()
    .describe(
      'audit entries older than three anchoring intervals that no anchor covers: anchoring stopped, or the log was removed or cut short',
    ),
});

export function auditRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/audit',
      tag: 'audit',
      summary: 'Search the audit trail',
      description:
        'Entries in chain order, a page at a time (`{items, next}`; `next` goes back as `cursor`). `format=csv` exports the page as CSV (one row per entry, values as JSON), its next cursor in `X-Next-Cursor`.',
      access: 'audit.read',
      query: z.strictObject({
        entity: z.string().max(64).optional().describe('entity type, e.g. user'),
        entityId: z.string().max(200).optional(),
        user: z.string().max(64).optional().describe('user id or username'),
        action: z.string().max(64).optional(),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
        ...listQuery(),
        // An export may take more at once than a page.
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(100)
          .describe('how many entries at most: 1–1,000, or up to 10,000 for format=csv'),
        format: z.enum(['json', 'csv']).default('json'),
      }),
      responses: {
        200: {
          description: 'Matching entries (text/csv with `format=csv`)',
          schema: listOf(auditEntrySchema),
          alsoAs: ['text/csv'],
        },
      },
      handler: async ({ query }) => {
        if (query.format === 'json' && query.limit > MAX_LIMIT)
          throw validationFailed([{ in: 'query', pointer: '/limit', message: `at most ${MAX_LIMIT} a page` }]);
        await s.auditSealer.sealNow();
        const found = await s.stores.audit.find(s.db, {
          entityType: query.entity,
          entityId: query.entityId,
          user: query.user,
          action: query.action,
          from: query.from ? new Date(query.from) : undefined,
          to: query.to ? new Date(query.to) : undefined,
          afterSeq: decodeCursor(query.cursor, z.object({ seq: z.int() }))?.seq,
          limit: query.limit + 1,
        });
        // Sealed just now: every entry has its place in the chain, the keyset of the next page.
        const entries = found.slice(0, query.limit);
        const last = entries[entries.length - 1];
        const next = found.length > query.limit && last.seq !== null ? encodeCursor({ seq: last.seq }) : null;
        if (query.format === 'csv') {
          return {
            text: { contentType: 'text/csv; charset=utf-8', content: toCsv(CSV_COLUMNS, entries) },
            headers: {
              'Content-Disposition': 'attachment; filename="audit-trail.csv"',
              ...(next ? { 'X-Next-Cursor': next } : {}),
            },
          };
        }
        return { body: { items: entries, next } };
      },
    }),
    route({
      method: 'post',
      path: '/audit/outside-changes/:id/acknowledge',
      tag: 'audit',
      summary: 'Acknowledge a change made outside Ampoule',
      description:
        'QA has reviewed a change of a GMP table that the database traced as made outside Ampoule (an audit entry with action `outside-ampoule`) — a sanctioned data fix, say — and acknowledges it with a signature meaning **reviewed** and a reason. The trace stays in the trail; the verification no longer counts it.',
      access: 'audit.acknowledge',
      reason: 'required',
      signature: { meaning: 'reviewed', roles: ['qa'] },
      params: z.strictObject({ id: z.uuid().describe('the audit entry of the change') }),
      responses: {
        200: {
          description: 'The acknowledgement’s signature',
          schema: z.object({ entry: z.uuid(), signature: signatureManifestationSchema }),
        },
      },
      problems: ['conflict'],
      handler: async ({ params, signer, change }) => ({
        body: await s.outsideChanges.acknowledge(change(), signer!, params.id),
      }),
    }),
    route({
      method: 'get',
      path: '/audit/verify',
      tag: 'audit',
      summary: 'Verify the audit chain',
      description:
        'Recomputes every entry’s hash and link, and names the first entry that does not hold: the sign of a change made outside Ampoule. Checks the audit chain and every batch record’s chain against their anchors — heads signed with a key held outside the database and logged outside it, at intervals and at each batch release — and names the first anchored head that no longer matches: a rewrite that recomputed every later hash. Also reports the changes of GMP tables the database traced as made outside Ampoule (audit entries with action `outside-ampoule`, attributed to the database user) that QA has not acknowledged. With any of these, `ok` is false.',
      access: 'audit.read',
      responses: {
        200: {
          description: 'The verdict',
          schema: z.object({
            ok: z.boolean(),
            entries: z.int(),
            unsealed: z.int().describe('entries of transactions still running, checked once sealed'),
            lastSeq: z.int(),
            lastHash: z.string(),
            firstBreak: z.object({ seq: z.int(), id: z.uuid().nullable(), problem: z.string() }).optional(),
            outsideAmpoule: z.object({
              count: z
                .int()
                .describe(
                  'changes of GMP tables made outside Ampoule that QA has not acknowledged (GET /api/audit?action=outside-ampoule lists them all)',
                ),
              acknowledged: z.int().optional().describe('those QA acknowledged, each signed'),
              first: z
                .object({
                  seq: z.int().nullable(),
                  recordedAt: z.iso.datetime(),
                  username: z.string().nullable().describe('the database user'),
                  entityType: z.string(),
                  entityId: z.string(),
                  reason: z.string().nullable(),
                })
                .optional(),
            }),
            anchors: z.object({ audit: anchorVerdictSchema, batchRecords: anchorVerdictSchema }),
          }),
        },
      },
      handler: async () => {
        await s.auditSealer.sealNow();
        const chain = await s.stores.audit.verify(s.db);
        const anchors = { audit: await s.anchors.verifyAudit(), batchRecords: await s.anchors.verifyBatches() };
        const anchored = Object.values(anchors).every((v) => !v.firstMismatch && v.unverifiable === 0 && !v.behind);
        return { body: { ...chain, ok: chain.ok && anchored, anchors } };
      },
    }),
  ];
}
