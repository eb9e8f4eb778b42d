/**
 * The hash chains anchored outside the database. Someone with the database's owner rights can edit an
 * audit entry (or a batch record entry) and recompute every later hash with the database's own function: the
 * chain then verifies. What they cannot do is change what was written elsewhere: at intervals and at every
 * batch release, Ampoule signs the head of the audit chain, and of each batch record that grew, with an
 * Ed25519 key held outside the database, and appends the signed head to an anchor log outside the database.
 * Verification recomputes the chains and checks every anchor against them: the first anchored head that no
 * longer matches names the rewrite.
 *
 * The key is a PEM file under the data directory by default (`AMPOULE_ANCHOR_KEY_FILE`, created when
 * missing), or whatever a module named by `AMPOULE_ANCHOR_SIGNER_MODULE` provides (a KMS, an HSM): it exports
 * `createAnchorSigner(): Promise<AnchorSigner>`. When the key is replaced, the earlier key's public key goes
 * into the trusted-keys folder (`AMPOULE_ANCHOR_TRUSTED_KEYS_DIR`) so that its anchors still verify. The log is
 * a file of JSON lines (`AMPOULE_ANCHOR_LOG`); production keeps it where the database's administrators cannot
 * write (another host, WORM storage). A log removed or cut short shows: entries older than three intervals
 * that no anchor covers.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { AuditStore } from '../../db/stores/audit-store';
import { canonicalJson } from '../../domain/canonical-hash';

/** What signs anchors: a key file, or a KMS behind a module of the operator's. */
export interface AnchorSigner {
  /** Names the key: the first 16 hex digits of the SHA-256 of its public key (DER). */
  keyId: string;
  /** The public key (SPKI PEM) that verifies the anchors. */
  publicKeyPem: string;
  /** Ed25519 signature of `payload`. */
  sign(payload: Buffer): Promise<Buffer>;
}

/** A signed chain head. */
export interface Anchor {
  v: 1;
  /** `audit` (the audit trail) or `ebr` (one batch's record). */
  chain: 'audit' | 'ebr';
  batchId?: string;
  batch?: string;
  seq: number;
  hash: string;
  /** When it was anchored (ISO 8601, UTC). */
  at: string;
  reason: string;
  keyId: string;
  /** Base64 Ed25519 signature over the canonical JSON of every other member. */
  sig: string;
}

/** How a chain stands against its anchors. */
export interface AnchorVerdict {
  /** Anchors checked (with a valid signature). */
  checked: number;
  /** Anchors whose signature does not verify with the configured key: a log someone wrote to. */
  unverifiable: number;
  /** The first anchored head the chain no longer has, and what it has instead (null: the entry is gone). */
  firstMismatch?: {
    chain: 'audit' | 'ebr';
    batch?: string;
    seq: number;
    anchoredHash: string;
    storedHash: string | null;
    anchoredAt: string;
    reason: string;
  };
  /**
   * (Audit chain only.) Entries older than three anchoring intervals that no anchor covers: anchoring stopped,
   * or the anchor log was removed or cut short.
   */
  behind?: { anchoredUpTo: number; firstUnanchored: { seq: number; recordedAt: string } };
}

export interface AnchorConfig {
  keyFile: string;
  signerModule?: string;
  logFile: string;
  intervalSeconds: number;
  /** Public keys (PEM files) of earlier signing keys, whose anchors still verify after the key was replaced. */
  trustedKeysDir: string;
}

const keyIdOf = (publicKey: KeyObject) =>
  createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);

/** An Ed25519 key in a PEM file, created (readable by its owner only) if the file does not exist. */
export function fileAnchorSigner(keyFile: string): AnchorSigner {
  if (!existsSync(keyFile)) {
    mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  const privateKey = createPrivateKey(readFileSync(keyFile));
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: async (payload) => edSign(null, payload, privateKey),
  };
}

/** The signer the configuration names: the operator's module (a KMS hook), or the key file. */
export async function loadAnchorSigner(config: AnchorConfig): Promise<AnchorSigner> {
  if (!config.signerModule) return fileAnchorSigner(config.keyFile);
  const mod = (await import(pathToFileURL(path.resolve(config.signerModule)).href)) as {
    createAnchorSigner?: () => Promise<AnchorSigner>;
  };
  if (typeof mod.createAnchorSigner !== 'function')
    throw new Error(`${config.signerModule} exports no createAnchorSigner()`);
  return mod.createAnchorSigner();
}

/**
 * The anchor log: one JSON line per anchor, appended and flushed; never rewritten. Reading keeps what it has
 * read and parses only what was appended since (the log grows by a few lines an interval, for years).
 */
export class AnchorLog {
  private anchors: Anchor[] = [];
  private readBytes = 0;

  constructor(readonly file: string) {}

  append(anchor: Anchor): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, `${JSON.stringify(anchor)}\n`, { mode: 0o600, flush: true });
  }

  /** Every anchor, oldest first. */
  read(): readonly Anchor[] {
    if (!existsSync(this.file)) return (this.anchors = []);
    const size = statSync(this.file).size;
    if (size < this.readBytes) [this.anchors, this.readBytes] = [[], 0]; // replaced by a shorter file: read it anew
    if (size > this.readBytes) {
      const fd = openSync(this.file, 'r');
      try {
        const fresh = Buffer.alloc(size - this.readBytes);
        readSync(fd, fresh, 0, fresh.length, this.readBytes);
        // Only whole lines: a line being appended right now is read next time.
        const text = fresh.toString('utf8');
        const whole = text.slice(0, text.lastIndexOf('\n') + 1);
        this.readBytes += Buffer.byteLength(whole);
        for (const line of whole.split('\n')) if (line.trim() !== '') this.anchors.push(parseLine(line));
      } finally {
        closeSync(fd);
      }
    }
    return this.anchors;
  }
}

/** A line of the log; one that is not an anchor at all is kept as one that cannot verify. */
function parseLine(line: string): Anchor {
  try {
    return JSON.parse(line) as Anchor;
  } catch {
    return {
      v: 1,
      chain: 'audit',
      seq: -1,
      hash: '',
      at: '',
      reason: 'an unreadable line of the anchor log',
      keyId: '',
      sig: '',
    };
  }
}

type Unsigned = Omit<Anchor, 'sig'>;
const payloadOf = (a: Unsigned) =>
  Buffer.from(
    canonicalJson({
      v: a.v,
      chain: a.chain,
      batchId: a.batchId,
      batch: a.batch,
      seq: a.seq,
      hash: a.hash,
      at: a.at,
      reason: a.reason,
      keyId: a.keyId,
    }),
    'utf8',
  );

function verifies(a: Anchor, publicKey: KeyObject): boolean {
  try {
    return edVerify(null, payloadOf(a), publicKey, Buffer.from(a.sig, 'base64'));
  } catch {
    return false; // a line so malformed that it cannot even be checked
  }
}

/** How often a process looks whether an interval anchor is due. */
const ANCHOR_CHECK_MS = 5_000;

export class Anchors {
  private signer: Promise<AnchorSigner> | undefined;
  readonly log: AnchorLog;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** The head last anchored of each chain (`audit`, or a batch id), so that an unchanged head is not anchored again. */
  private last: Map<string, number> | undefined;
  /** Whether each anchor read so far carries a valid signature of the configured key (checked once each). */
  private readonly signatureValid = new WeakMap<Anchor, boolean>();

  constructor(
    private readonly db: Knex,
    private readonly audit: AuditStore,
    private readonly config: AnchorConfig,
    private readonly logger: Logger,
  ) {
    this.log = new AnchorLog(config.logFile);
  }

  private key(): Promise<AnchorSigner> {
    this.signer ??= loadAnchorSigner(this.config);
    return this.signer;
  }

  /** Anchors every chain whose head moved since it was last anchored: the audit trail, and each batch record. */
  async anchorNow(reason: string): Promise<Anchor[]> {
    await this.auditSealed();
    const out: Anchor[] = [];
    const audit = await this.auditHead();
    if (audit) out.push(...(await this.append([{ chain: 'audit', ...audit }], reason)));
    // Each batch's head by its primary key; one anchored already (at its release, say) is skipped, one whose
    // anchor at release failed is anchored now.
    const { rows } = await this.db.raw(
      `select b.id as batch_id, b.number, h.seq, h.hash from batches b
         cross join lateral (select seq, hash from ebr_entries e where e.batch_id = b.id order by seq desc limit 1) h`,
    );
    out.push(
      ...(await this.append(
        rows.map((r: { batch_id: string; number: string; seq: number; hash: string }) => ({
          chain: 'ebr' as const,
          batchId: r.batch_id,
          batch: r.number,
          seq: r.seq,
          hash: r.hash,
        })),
        reason,
      )),
    );
    return out;
  }

  /** Anchors the audit trail and the batch's record as they stand after its release (or rejection). */
  async anchorDisposition(batchId: string, reason: string): Promise<Anchor[]> {
    await this.auditSealed();
    const heads: Omit<Unsigned, 'v' | 'at' | 'reason' | 'keyId'>[] = [];
    const audit = await this.auditHead();
    if (audit) heads.push({ chain: 'audit', ...audit });
    const { rows } = await this.db.raw(
      `select e.batch_id, b.number, e.seq, e.hash from ebr_entries e join batches b on b.id = e.batch_id where e.batch_id = ? order by e.seq desc limit 1`,
      [batchId],
    );
    if (rows[0])
      heads.push({
        chain: 'ebr',
        batchId: rows[0].batch_id,
        batch: rows[0].number,
        seq: rows[0].seq,
        hash: rows[0].hash,
      });
    return this.append(heads, reason, true);
  }

  /**
   * Anchors at intervals, due by the log's newest anchor and this process's last round — not by how long this
   * process has run: processes restarted more often than the interval (a rolling deployment, a crash loop) still
   * anchor once an interval, and processes sharing one log mostly once between them (two may both anchor in one
   * look: a duplicate anchor, never a gap). A failed round is logged and
   * tried again at the next interval.
   */
  start(): void {
    if (this.timer) return;
    const everyMs = this.config.intervalSeconds * 1000;
    let lastRound = 0;
    this.timer = setInterval(
      () => {
        const anchors = this.log.read();
        // A line whose time cannot be read counts as none; one in the future (another host's clock) as now.
        const newest = Math.min(Date.parse(anchors[anchors.length - 1]?.at ?? '') || 0, Date.now());
        if (this.running || Date.now() - Math.max(newest, lastRound) < everyMs) return;
        lastRound = Date.now();
        this.running = this.anchorNow('interval')
          .catch((err) =>
            this.logger.error({ err }, 'anchoring the hash chains failed; trying again at the next interval'),
          )
          .finally(() => (this.running = undefined));
      },
      Math.min(everyMs, ANCHOR_CHECK_MS),
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The audit chain against its anchors: the first anchored head whose entry no longer has the anchored hash. */
  async verifyAudit(db: Knex = this.db): Promise<AnchorVerdict> {
    const verdict = await this.verify(
      (a) => a.chain === 'audit',
      async (seqs) => {
        const { rows } = await db.raw(`select seq, hash from audit_entries where seq = any(?::bigint[])`, [seqs]);
        return new Map(rows.map((r: { seq: number; hash: string }) => [Number(r.seq), r.hash]));
      },
    );
    // What no anchor covers yet, and should by now: three intervals (one to anchor it, two of grace).
    const anchoredUpTo = Math.max(
      0,
      ...this.log
        .read()
        .filter((a) => a.chain === 'audit' && this.signatureValid.get(a))
        .map((a) => a.seq),
    );
    const { rows } = await db.raw(
      `select seq, recorded_at from audit_entries where seq > ? and recorded_at < now() - make_interval(secs => ?) order by seq limit 1`,
      [anchoredUpTo, this.config.intervalSeconds * 3],
    );
    if (rows[0])
      verdict.behind = {
        anchoredUpTo,
        firstUnanchored: { seq: Number(rows[0].seq), recordedAt: new Date(rows[0].recorded_at).toISOString() },
      };
    return verdict;
  }

  /** One batch record (or, without `batchId`, every one) against its anchors. */
  async verifyBatches(db: Knex = this.db, batchId?: string): Promise<AnchorVerdict> {
    return this.verify(
      (a) => a.chain === 'ebr' && (batchId === undefined || a.batchId === batchId),
      async (_seqs, anchors) => {
        const pairs = anchors.map((a) => [a.batchId!, a.seq] as const);
        const rows =
          pairs.length === 0
            ? []
            : (
                await db.raw(
                  `select e.batch_id, e.seq, e.hash from ebr_entries e join (select * from unnest(?::uuid[], ?::int[])) as p(batch_id, seq) using (batch_id, seq)`,
                  [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
                )
              ).rows;
        return new Map(
          rows.map((r: { batch_id: string; seq: number; hash: string }) => [`${r.batch_id}/${r.seq}`, r.hash]),
        );
      },
      (a) => `${a.batchId}/${a.seq}`,
    );
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  /** The signing key's public key and those of earlier keys put in the trusted-keys folder, by key id. */
  private async verificationKeys(): Promise<Map<string, KeyObject>> {
    const keys = new Map<string, KeyObject>();
    if (existsSync(this.config.trustedKeysDir)) {
      for (const f of readdirSync(this.config.trustedKeysDir).filter((n) => n.endsWith('.pem'))) {
        const key = createPublicKey(readFileSync(path.join(this.config.trustedKeysDir, f)));
        keys.set(keyIdOf(key), key);
      }
    }
    const signer = await this.key();
    keys.set(signer.keyId, createPublicKey(signer.publicKeyPem));
    return keys;
  }

  private async auditSealed(): Promise<void> {
    while ((await this.audit.seal(this.db)) >= 10_000);
  }

  private async auditHead(): Promise<{ seq: number; hash: string } | undefined> {
    const { rows } = await this.db.raw(`select seq, hash from audit_chain_head`);
    return rows[0] && rows[0].seq > 0 ? { seq: Number(rows[0].seq), hash: rows[0].hash } : undefined;
  }

  /** Signs and appends the heads that moved since they were last anchored (all of them with `always`). */
  private async append(
    heads: Omit<Unsigned, 'v' | 'at' | 'reason' | 'keyId'>[],
    reason: string,
    always = false,
  ): Promise<Anchor[]> {
    const signer = await this.key();
    this.last ??= this.lastAnchored();
    const out: Anchor[] = [];
    for (const h of heads) {
      const chainKey = h.chain === 'audit' ? 'audit' : h.batchId!;
      if (!always && this.last.get(chainKey) === h.seq) continue;
      const unsigned: Unsigned = { v: 1, ...h, at: new Date().toISOString(), reason, keyId: signer.keyId };
      const anchor: Anchor = { ...unsigned, sig: (await signer.sign(payloadOf(unsigned))).toString('base64') };
      this.log.append(anchor);
      this.last.set(chainKey, h.seq);
      out.push(anchor);
    }
    return out;
  }

  private lastAnchored(): Map<string, number> {
    const last = new Map<string, number>();
    for (const a of this.log.read()) last.set(a.chain === 'audit' ? 'audit' : a.batchId!, a.seq);
    return last;
  }

  private async verify(
    mine: (a: Anchor) => boolean,
    stored: (seqs: number[], anchors: Anchor[]) => Promise<Map<number | string, string>>,
    keyOf: (a: Anchor) => number | string = (a) => a.seq,
  ): Promise<AnchorVerdict> {
    const keys = await this.verificationKeys();
    const anchors = this.log.read().filter(mine);
    const valid = anchors.filter((a) => {
      let ok = this.signatureValid.get(a);
      if (ok === undefined) {
        const key = keys.get(a.keyId);
        ok = key !== undefined && verifies(a, key);
        this.signatureValid.set(a, ok);
      }
      return ok;
    });
    const hashes = await stored([...new Set(valid.map((a) => a.seq))], valid);
    const verdict: AnchorVerdict = { checked: valid.length, unverifiable: anchors.length - valid.length };
    // In the order they were written: the earliest anchor broken is where the rewrite began to show.
    const broken = valid.find((a) => hashes.get(keyOf(a)) !== a.hash);
    if (broken) {
      verdict.firstMismatch = {
        chain: broken.chain,
        ...(broken.batch ? { batch: broken.batch } : {}),
        seq: broken.seq,
        anchoredHash: broken.hash,
        storedHash: hashes.get(keyOf(broken)) ?? null,
        anchoredAt: broken.at,
        reason: broken.reason,
      };
    }
    return verdict;
  }
}
