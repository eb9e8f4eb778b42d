/**
 * The zero-setup mode's demo data, loaded through the same services (and the same audit trail and
 * signatures) as real data: demo users, equipment classes, materials, and the two example recipes —
 * authored by `planner`, approved and made effective by `qa1`, so that batches can be launched at once.
 * Loading twice adds nothing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_ACTOR, type ChangeContext, type Station, type UserActor } from '../db/change-context';
import type { RecipeFile } from '../api/recipes/recipe-service';
import type { Services } from '../api/services';
import { ensureDemoUsers } from '../api/users/demo-users';
import { Inventory } from '../api/lots/inventory';
import type { ScaleConfig } from '../api/scales/scale-service';
import type { ScaleSpec, SimulatedScale } from '../equipment/simulator/scale';
import type { UnitBinding } from '../domain/equipment';
import type { SignatureMeaning } from '../domain/identity';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from './master-data';

const REASON = 'demo data of the zero-setup mode';
const STATION: Station = { clientAddress: null, userAgent: 'ampoule demo loader', requestId: null };

export interface DemoSummary {
  users: string[];
  equipmentClasses: string[];
  materials: string[];
  recipes: string[];
  lots: string[];
}

/** Released lots of the raw materials the example recipes use, so a demo batch can start at once. */
const DEMO_LOTS = [
  { material: 'NACL', quantity: 200, unit: 'kg' },
  { material: 'KCL', quantity: 25, unit: 'kg' },
  { material: 'NA2HPO4', quantity: 50, unit: 'kg' },
  { material: 'KH2PO4', quantity: 25, unit: 'kg' },
  { material: 'CD-CHO', quantity: 10_000, unit: 'L' },
  { material: 'INOC-MAB1', quantity: 1_000, unit: 'L' },
  { material: 'FEED-B', quantity: 1_000, unit: 'L' },
];

export async function loadDemoData(s: Services, password: string): Promise<DemoSummary> {
  const summary: DemoSummary = {
    users: await ensureDemoUsers(s, password),
    equipmentClasses: [],
    materials: [],
    recipes: [],
    lots: [],
  };
  const asSystem = <T>(fn: (ctx: ChangeContext) => Promise<T>) =>
    s.db.transaction((trx) => fn({ trx, actor: SYSTEM_ACTOR, station: STATION, reason: REASON }));

  const classes = new Set((await s.masterData.equipmentClasses()).map((c) => c.code));
  for (const c of DEMO_EQUIPMENT_CLASSES.filter((c) => !classes.has(c.code))) {
    await asSystem((ctx) => s.masterData.createEquipmentClass(ctx, c));
    summary.equipmentClasses.push(c.code);
  }
  const materials = new Set((await s.masterData.materials()).map((m) => m.code));
  for (const m of DEMO_MATERIALS.filter((m) => !materials.has(m.code))) {
    await asSystem((ctx) => s.masterData.createMaterial(ctx, m));
    summary.materials.push(m.code);
  }

  const planner = await actor(s, 'planner');
  const qa = await actor(s, 'qa1');
  const as = <T>(who: UserActor, fn: (ctx: ChangeContext) => Promise<T>) =>
    s.db.transaction((trx) => fn({ trx, actor: who, station: STATION, reason: REASON }));
  const sign = (who: UserActor, meaning: SignatureMeaning, roles: ('planner' | 'qa' | 'operator')[]) =>
    s.signatures.verify(who, { username: who.username, password, meaning }, { meaning, roles }, STATION);

  const dir = path.join(__dirname, 'recipes');
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const recipe = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as RecipeFile;
    if ((await s.recipes.list()).some((r) => r.code === recipe.code)) continue;
    const draft = await as(planner, (ctx) => s.recipes.importFile(ctx, recipe));
    const authored = await sign(planner, 'authored', ['planner', 'qa']);
    await as(planner, (ctx) => s.recipes.submit(ctx, authored, recipe.code, draft.version));
    const approved = await sign(qa, 'approved', ['qa']);
    await as(qa, (ctx) => s.recipes.approve(ctx, approved, recipe.code, draft.version));
    await as(qa, (ctx) => s.recipes.makeEffective(ctx, recipe.code, draft.version));
    summary.recipes.push(recipe.code);
  }

  // Received by the warehouse (operator1), released by QA (qa1) with a signature, as real lots are.
  const operator = await actor(s, 'operator1');
  for (const l of DEMO_LOTS) {
    if ((await s.lots.list({ material: l.material, limit: 1 })).length > 0) continue;
    const lot = await as(operator, (ctx) =>
      s.lots.receive(ctx, {
        material: l.material,
        quantity: { value: l.quantity, unit: l.unit },
        expiryDate: '2030-12-31',
        supplier: 'Demo Supplies Ltd',
        supplierLot: `DEMO-${l.material}`,
      }),
    );
    const released = await sign(qa, 'released', ['qa']);
    await s.db.transaction((trx) =>
      s.lots.changeStatus(
        { trx, actor: qa, station: STATION, reason: 'certificate of analysis reviewed (demo data)' },
        lot.id,
        'released',
        released,
      ),
    );
    summary.lots.push(lot.lotNumber);
  }
  return summary;
}

/** A demo user acting outside any HTTP session (the loader signs with their password all the same). */
async function actor(s: Services, username: string): Promise<UserActor> {
  const u = await s.stores.users.byUsername(s.db, username);
  if (!u) throw new Error(`demo user ${username} is missing`);
  return {
    kind: 'user',
    userId: u.id,
    username: u.username,
    fullName: u.fullName,
    roles: u.roles,
    sessionId: '00000000-0000-0000-0000-000000000000',
  };
}

/** The simulator's units, registered (or re-pointed at the simulator's current endpoint) as equipment. */
export async function loadDemoEquipment(
  s: Services,
  simulator: {
    endpointUrl: string;
    units: readonly { code: string; name: string; equipmentClass: string; scale?: ScaleSpec }[];
    bindingFor(code: string): UnitBinding;
  },
): Promise<string[]> {
  const changed: string[] = [];
  const policy = 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256';
  for (const u of simulator.units) {
    const existing = await s.stores.equipment.byCode(s.db, u.code);
    const config = {
      endpointUrl: simulator.endpointUrl,
      securityMode: 'SignAndEncrypt' as const,
      securityPolicy: policy,
      binding: simulator.bindingFor(u.code),
    };
    if (!existing) {
      await s.db.transaction((trx) =>
        s.equipment.create(
          { trx, actor: SYSTEM_ACTOR, station: STATION, reason: REASON },
          { code: u.code, name: u.name, classCode: u.equipmentClass, ...config },
        ),
      );
      changed.push(u.code);
    } else if (
      existing.endpointUrl !== config.endpointUrl ||
      JSON.stringify(existing.binding) !== JSON.stringify(config.binding)
    ) {
      await s.db.transaction((trx) =>
        s.equipment.configure(
          { trx, actor: SYSTEM_ACTOR, station: STATION, reason: 'the zero-setup simulator listens elsewhere now' },
          u.code,
          config,
        ),
      );
      changed.push(u.code);
    }
    if (u.scale && !(await s.stores.scales.byCode(s.db, u.code))) {
      await s.db.transaction((trx) =>
        s.scales.configure({ trx, actor: SYSTEM_ACTOR, station: STATION, reason: REASON }, u.code, demoScale(u.scale!)),
      );
      if (!changed.includes(u.code)) changed.push(u.code);
    }
  }
  return changed;
}

/**
 * A simulated scale's range as a scale of its class would have it: its minimum weight 20 intervals (USP <41>'s
 * rule of thumb for a balance of this readability), its daily check with a small and a large test weight.
 */
function demoScale(spec: ScaleSpec): ScaleConfig {
  const d = spec.readability;
  const round = (x: number) => Number(x.toPrecision(6));
  return {
    unit: 'kg',
    capacity: spec.capacity,
    readability: d,
    minimumWeight: round(20 * d),
    checkPoints: [
      { nominal: round(spec.capacity / 20), tolerance: round(2 * d) },
      { nominal: round((spec.capacity * 2) / 3), tolerance: round(5 * d) },
    ],
  };
}

/**
 * Makes the simulated scales usable today, as the dispensary's people would: a calibration recorded by QA where
 * none is current (signed, running a year), and each test weight of the daily check put on the scale, read from
 * it and signed by an operator. Returns the scales it qualified.
 */
export async function qualifyDemoScales(
  s: Services,
  simulator: { units: readonly { code: string; scale?: ScaleSpec }[]; scale(code: string): SimulatedScale },
  password: string,
): Promise<string[]> {
  const qa = await actor(s, 'qa1');
  const operator = await actor(s, 'operator1');
  const today = await new Inventory(s.stores).today(s.db);
  const done: string[] = [];
  for (const u of simulator.units.filter((x) => x.scale)) {
    let scale = await s.scales.get(u.code);
    if (scale.usable) continue;
    if (!scale.calibrationDue || scale.calibrationDue < today) {
      const signer = await s.signatures.verify(
        qa,
        { username: qa.username, password, meaning: 'approved' },
        { meaning: 'approved', roles: ['qa'] },
        STATION,
      );
      const dueOn = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`.replace('-02-29', '-02-28');
      await s.db.transaction((trx) =>
        s.scales.calibrate(
          { trx, actor: qa, station: STATION, reason: REASON },
          u.code,
          { calibratedOn: today, dueOn, certificate: `DEMO-CAL-${u.code}-${today}` },
          signer,
        ),
      );
      scale = await s.scales.get(u.code);
    }
    const terminal = simulator.scale(u.code);
    const pouring = terminal.autoPour;
    terminal.autoPour = false;
    try {
      for (const point of scale.checkPoints) {
        if (scale.checksToday.some((c) => c.nominal === point.nominal && c.passed)) continue;
        terminal.place(point.nominal);
        await settled(s, u.code);
        const signer = await s.signatures.verify(
          operator,
          { username: operator.username, password, meaning: 'performed' },
          { meaning: 'performed', roles: ['operator', 'qa'] },
          STATION,
        );
        await s.scales.check({ actor: operator, station: STATION, reason: REASON }, u.code, point.nominal, signer);
        terminal.place(-point.nominal);
        await settled(s, u.code);
      }
    } finally {
      terminal.autoPour = pouring;
    }
    done.push(u.code);
  }
  return done;
}

/** Waits for a scale's weight to settle (a few seconds at most). */
async function settled(s: Services, code: string): Promise<void> {
  for (const end = Date.now() + 10_000; Date.now() < end;) {
    if ((await s.scales.reading(code)).reading.stable) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`scale ${code} did not settle`);
}
