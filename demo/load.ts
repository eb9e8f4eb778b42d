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
    units: readonly { code: string; name: string; equipmentClass: string }[];
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
  }
  return changed;
}
