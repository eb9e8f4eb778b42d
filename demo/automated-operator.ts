/**
 * Automated operators: they watch a batch through the API and complete every step that waits for
 * them — in-limit values, the right lots, their signatures — and verify their colleagues' steps. The
 * demo (`npm run demo:batch`) and the tests drive whole batches with them, through exactly the HTTP
 * calls people make.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Request = (
  user: string,
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Json }>;

/** Who does what: performers and verifiers by role (a verifier is never the performer). */
const PERFORMER: Record<string, string> = { operator: 'operator1', qa: 'qa2' };
const VERIFIER: Record<string, string> = { operator: 'operator2', qa: 'qa1' };

export interface OperatorOptions {
  /** Material code → lot number to take it from. */
  lots: Record<string, string>;
  password: string;
  /** Called after each step completion or verification with its round-trip time. */
  onAction?: (a: { batch: string; stepId: string; action: 'complete' | 'verify'; ms: number }) => void;
  /**
   * How long an operator takes to clear a phase its controller held on a fault (they hold the batch, check the
   * unit, restart the batch); 0 by default.
   */
  faultClearingMs?: number;
  /** Stop driving (the batch is left as it is). */
  until?: () => boolean;
  pollMs?: number;
}

export function valueFor(f: Json): unknown {
  switch (f.type) {
    case 'number':
      return f.target ?? (f.low !== undefined && f.high !== undefined ? (f.low + f.high) / 2 : (f.low ?? f.min ?? 0));
    case 'text':
      return 'OK-1';
    case 'choice':
      return f.options[0];
    default:
      return true;
  }
}

/** Who completes a step waiting for input, and with what: in-limit values, the right lots, their signature. */
export function completion(step: Json, o: Pick<OperatorOptions, 'lots' | 'password'>): { user: string; body: Json } {
  const role = step.performedBy.includes('operator') ? 'operator' : step.performedBy[0];
  const user = PERFORMER[role];
  const fields: Json[] = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  const body: Json = {
    values: Object.fromEntries(fields.map((f) => [f.id, valueFor(f)])),
    signature: {
      username: user,
      password: o.password,
      meaning: step.kind === 'approval' ? step.meaning : 'performed',
    },
  };
  if (step.kind === 'material' && step.weighed) {
    body.lots = [{ lot: o.lots[step.material] }];
    body.container = `CONTAINER-${step.id}`;
  } else if (step.kind === 'material') body.lots = [{ lot: o.lots[step.material], quantity: step.quantity.value }];
  return { user, body };
}

/**
 * Dispenses a weighed step at a scale, as an operator at the dispensary does: takes a scale for the step (the
 * finest free one; another step's may hold them all, then later), tares it, and waits while the material is poured
 * (the simulator's operator pours to the target the terminal shows) until the weight is stable. Returns whether the
 * step may now be completed.
 */
export async function dispense(request: Request, batch: string, step: Json, user: string): Promise<boolean> {
  // Every scale busy or unusable (409), or the API, database or scale unreachable for a moment (5xx): later.
  const retryLater = (status: number) => status === 409 || status >= 500;
  const held = await request(user, 'POST', `/batches/${batch}/steps/${step.id}/dispensing`, {});
  if (retryLater(held.status)) return false;
  if (held.status !== 200)
    throw new Error(`dispensing ${batch}/${step.id}: ${held.status} ${JSON.stringify(held.body)}`);
  const scale = held.body.scale.code as string;
  /** The scale's reading once `ok`; undefined if it is not so within 20 s (or cannot be read meanwhile). */
  const until = async (ok: (r: Json) => boolean): Promise<Json | undefined> => {
    for (const end = Date.now() + 20_000; Date.now() < end;) {
      const r = await request(user, 'GET', `/scales/${scale}/reading`);
      if (r.status === 200 && ok(r.body.reading)) return r.body.reading as Json;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  };
  const { target, low, high } = held.body.onScale as { target: number; low: number; high: number };
  // Poured already (a completion refused, or not answered): what is on the scale is the step's.
  const now = await until((r) => r.stable);
  if (!now) return false;
  if (now.net >= low && now.net <= high) return true;
  const tared = await request(user, 'POST', `/scales/${scale}/tare`);
  if (retryLater(tared.status)) return false;
  if (tared.status !== 200) throw new Error(`taring ${scale}: ${tared.status} ${JSON.stringify(tared.body)}`);
  const poured = await until((r) => r.stable && r.net >= target / 2);
  // Poured to another target (the terminal missed this step's while a fault lasted): not this step's weight. Later:
  // beginning again shows the target anew, and the simulated operator starts over.
  return poured !== undefined && poured.net >= low && poured.net <= high;
}

/**
 * Drives one batch to its end (complete, stopped, aborted) or until `until()`; returns its final status. An
 * entry the batch no longer awaits (409: it moved on, or was held, meanwhile) is left; any other refusal is a bug.
 */
export async function operateBatch(request: Request, batch: string, o: OperatorOptions): Promise<string> {
  const sign = (user: string, meaning: string) => ({ username: user, password: o.password, meaning });
  const plan = new Map<string, Json>(
    ((await request('qa1', 'GET', `/batches/${batch}/steps`)).body as Json[]).map((s) => [s.id, s]),
  );
  const cleared = new Set<string>();
  // A held phase seen once may be one a Hold passed to it whose Restart is under way: a fault is one still held,
  // unchanged, a second later while the batch runs.
  const heldSeen = new Map<string, number>();
  for (;;) {
    if (o.until?.()) return 'interrupted';
    const live = (await request('qa1', 'GET', `/batches/${batch}`)).body.live as Json;
    if (['complete', 'stopped', 'aborted'].includes(live.status)) return live.status;
    let acted = false;
    // A phase its controller held (a fault) while the batch runs: hold the batch, check the unit, restart.
    const held = (live.steps as Json[]).find(
      (s) => s.status === 'active' && s.equipment?.state === 'held' && !cleared.has(`${s.id}@${s.equipment.since}`),
    );
    const heldKey = held ? `${held.id}@${held.equipment.since}` : undefined;
    if (heldKey && live.status === 'running' && !heldSeen.has(heldKey)) heldSeen.set(heldKey, Date.now());
    const faulted =
      heldKey && live.status === 'running' && Date.now() - heldSeen.get(heldKey)! >= 1_000 ? held : undefined;
    if (faulted) {
      const { unit, phase, since } = faulted.equipment as Json;
      cleared.add(`${faulted.id}@${since}`);
      await batchCommand(request, batch, 'hold', `the controller held ${unit} ${phase}: checking the unit`);
      await new Promise((r) => setTimeout(r, o.faultClearingMs ?? 0));
      await batchCommand(request, batch, 'restart', `${unit} checked, the fault cleared`);
      continue;
    }
    for (const s of live.steps as Json[]) {
      const step = plan.get(s.id)!;
      if (s.status === 'awaiting-input' && live.status === 'running') {
        const { user, body } = completion(step, o);
        if (step.kind === 'material' && step.weighed && !(await dispense(request, batch, step, user))) continue;
        const t0 = performance.now();
        const r = await request(user, 'POST', `/batches/${batch}/steps/${s.id}/complete`, body);
        if (r.status === 200) o.onAction?.({ batch, stepId: s.id, action: 'complete', ms: performance.now() - t0 });
        else if (r.status !== 409 && r.status !== 503)
          throw new Error(`completing ${batch}/${s.id}: ${r.status} ${JSON.stringify(r.body)}`);
        acted = true;
      } else if (s.status === 'awaiting-verification' && live.status === 'running') {
        const role = step.signatures.verifiedBy.includes('operator') ? 'operator' : step.signatures.verifiedBy[0];
        const t0 = performance.now();
        const r = await request(VERIFIER[role], 'POST', `/batches/${batch}/steps/${s.id}/verify`, {
          signature: sign(VERIFIER[role], 'verified'),
        });
        if (r.status === 200) o.onAction?.({ batch, stepId: s.id, action: 'verify', ms: performance.now() - t0 });
        else if (r.status !== 409 && r.status !== 503)
          throw new Error(`verifying ${batch}/${s.id}: ${r.status} ${JSON.stringify(r.body)}`);
        acted = true;
      }
    }
    if (!acted) await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
}

/** A batch command by the shift's operator; one the batch no longer takes (it moved on meanwhile) is left. */
async function batchCommand(request: Request, batch: string, command: string, reason: string): Promise<void> {
  const r = await request('operator1', 'POST', `/batches/${batch}/commands`, { command, reason });
  if (r.status !== 200 && r.status !== 409)
    throw new Error(`${command} of ${batch}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Receives and releases a generous lot of each material a recipe consumes; returns material → lot number. */
export async function stockMaterials(
  request: Request,
  materials: { code: string; unit: string; quantity: number }[],
  password: string,
): Promise<Record<string, string>> {
  const lots: Record<string, string> = {};
  for (const m of materials) {
    const r = await request('operator1', 'POST', '/lots', {
      material: m.code,
      quantity: m.quantity,
      unit: m.unit,
      expiryDate: '2099-12-31',
      supplier: 'Test supplier',
      supplierLot: `T-${m.code}`,
    });
    if (r.status !== 201) throw new Error(`receiving ${m.code}: ${JSON.stringify(r.body)}`);
    const released = await request('qa1', 'POST', `/lots/${r.body.id}/status`, {
      status: 'released',
      reason: 'CoA reviewed',
      signature: { username: 'qa1', password, meaning: 'released' },
    });
    if (released.status !== 200) throw new Error(`releasing ${m.code}: ${JSON.stringify(released.body)}`);
    lots[m.code] = r.body.lotNumber;
  }
  return lots;
}

/** What the demo recipes consume, with room for many batches. */
export const DEMO_STOCK = [
  { code: 'NACL', unit: 'kg', quantity: 100_000 },
  { code: 'KCL', unit: 'kg', quantity: 10_000 },
  { code: 'NA2HPO4', unit: 'kg', quantity: 10_000 },
  { code: 'KH2PO4', unit: 'kg', quantity: 10_000 },
  { code: 'CD-CHO', unit: 'L', quantity: 1_000_000 },
  { code: 'INOC-MAB1', unit: 'L', quantity: 100_000 },
  { code: 'FEED-B', unit: 'L', quantity: 100_000 },
];
