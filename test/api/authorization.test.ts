/**
 * Deny by default: every route declares who may call it, and this test pins the whole route × role
 * matrix. A new route, or a change of who may call one, fails here until the tables below say so.
 */
import { PERMISSIONS, ROLES, type Access, type Permission, type Role } from '../../api/auth/permissions';
import { startTestApi, uname, type TestApi } from '../support/api';

/** Every route and who may call it. */
const ROUTES: Record<string, Access> = {
  'GET /health': 'public',
  'GET /problems': 'public',
  'GET /problems/:slug': 'public',
  'GET /openapi.json': 'public',
  'POST /auth/login': 'public',
  'POST /auth/logout': 'authenticated',
  'GET /me': 'authenticated',
  'POST /me/password': 'authenticated',
  'GET /users': 'users.read',
  'GET /users/access-review': 'users.access-review',
  'GET /users/:id': 'users.read',
  'POST /users': 'users.write',
  'PATCH /users/:id': 'users.write',
  'GET /audit': 'audit.read',
  'GET /audit/verify': 'audit.read',
  'POST /audit/outside-changes/:id/acknowledge': 'audit.acknowledge',
  'GET /security-events': 'security-events.read',
  'GET /signatures': 'signatures.read',
  'GET /equipment-classes': 'master-data.read',
  'GET /equipment-classes/:code': 'master-data.read',
  'POST /equipment-classes': 'master-data.write',
  'GET /materials': 'master-data.read',
  'GET /materials/:code': 'master-data.read',
  'POST /materials': 'master-data.write',
  'GET /recipes': 'recipes.read',
  'POST /recipes': 'recipes.author',
  'POST /recipes/import': 'recipes.author',
  'GET /recipes/:id': 'recipes.read',
  'POST /recipes/:id/versions': 'recipes.author',
  'GET /recipes/:id/versions/:v': 'recipes.read',
  'PUT /recipes/:id/versions/:v': 'recipes.author',
  'POST /recipes/:id/versions/:v/submit': 'recipes.author',
  'POST /recipes/:id/versions/:v/approve': 'recipes.review',
  'POST /recipes/:id/versions/:v/reject': 'recipes.review',
  'POST /recipes/:id/versions/:v/make-effective': 'recipes.release',
  'POST /recipes/:id/versions/:v/retire': 'recipes.release',
  'GET /recipes/:id/versions/:v/plan': 'recipes.read',
  'GET /recipes/:id/versions/:v/diff/:w': 'recipes.read',
  'GET /recipes/:id/versions/:v/export': 'recipes.read',
  'GET /lots': 'lots.read',
  'POST /lots': 'lots.receive',
  'GET /lots/:id': 'lots.read',
  'POST /lots/:id/status': 'lots.disposition',
  'POST /lots/:id/adjustments': 'lots.adjust',
  'GET /lots/:id/genealogy': 'lots.read',
  'GET /lots/:id/recall-impact': 'lots.read',
  'GET /equipment': 'equipment.read',
  'POST /equipment': 'equipment.configure',
  'GET /equipment/:id': 'equipment.read',
  'PATCH /equipment/:id': 'equipment.configure',
  'POST /equipment/:id/status': 'equipment.status',
  'GET /equipment/:id/state': 'equipment.read',
  'GET /oee': 'oee.read',
  'GET /oee/losses': 'oee.read',
  'POST /oee/stops': 'oee.qualify',
  'POST /batches': 'batches.launch',
  'GET /batches': 'batches.read',
  'GET /batches/:id': 'batches.read',
  'GET /batches/:id/steps': 'batches.read',
  'POST /batches/:id/commands': 'batches.command',
  'POST /batches/:id/steps/:stepId/complete': 'batches.execute',
  'POST /batches/:id/steps/:stepId/verify': 'batches.execute',
  'GET /work-queue': 'authenticated',
  'GET /batches/:id/ebr': 'batches.read',
  'GET /batches/:id/ebr.pdf': 'batches.read',
  'GET /batches/:id/review': 'batches.read',
  'POST /batches/:id/review': 'batches.disposition',
  'POST /batches/:id/release': 'batches.disposition',
  'POST /batches/:id/reject': 'batches.disposition',
  'GET /batches/:id/history': 'batches.history',
  'POST /batches/:id/replay': 'batches.investigate',
  'GET /batches/:id/cross-check': 'batches.investigate',
  'GET /investigations/impact': 'batches.investigate',
  'GET /deviations': 'deviations.read',
  'GET /deviations/:id': 'deviations.read',
  'POST /deviations': 'deviations.raise',
  'PATCH /deviations/:id': 'deviations.investigate',
  'POST /deviations/:id/investigate': 'deviations.investigate',
  'POST /deviations/:id/submit': 'deviations.investigate',
  'POST /deviations/:id/return': 'deviations.approve',
  'POST /deviations/:id/close': 'deviations.approve',
  'GET /orders': 'orders.read',
  'POST /orders': 'orders.plan',
  'GET /orders/:id': 'orders.read',
  'POST /orders/:id/release': 'orders.plan',
  'POST /orders/:id/unrelease': 'orders.plan',
  'POST /orders/:id/cancel': 'orders.plan',
  'POST /orders/:id/close': 'orders.plan',
  'POST /integration/b2mml': 'orders.plan',
  'GET /batches/:id/b2mml/production-performance': 'batches.read',
  'GET /batches/:id/batchml': 'batches.read',
  'POST /webhooks/subscriptions': 'webhooks.manage',
  'GET /webhooks/subscriptions': 'webhooks.manage',
  'GET /webhooks/subscriptions/:id': 'webhooks.manage',
  'POST /webhooks/subscriptions/:id/deactivate': 'webhooks.manage',
  'GET /webhooks/subscriptions/:id/deliveries': 'webhooks.manage',
  'POST /webhooks/deliveries/:id/redeliver': 'webhooks.manage',
  'GET /batches/:id/steps/:stepId/dispensing': 'batches.read',
  'POST /batches/:id/steps/:stepId/dispensing': 'batches.execute',
  'DELETE /batches/:id/steps/:stepId/dispensing': 'batches.execute',
  'GET /batches/:id/steps/:stepId/label.pdf': 'batches.read',
  'GET /scales': 'equipment.read',
  'GET /scales/:code': 'equipment.read',
  'PUT /scales/:code': 'equipment.configure',
  'POST /scales/:code/calibrations': 'scales.calibrate',
  'POST /scales/:code/checks': 'scales.check',
  'GET /scales/:code/calibrations/:id': 'equipment.read',
  'GET /scales/:code/checks/:id': 'equipment.read',
  'GET /scales/:code/reading': 'equipment.read',
  'POST /scales/:code/tare': 'scales.operate',
  'POST /scales/:code/zero': 'scales.operate',
};

/** Which roles hold each permission. */
const MATRIX: Record<Permission, Role[]> = {
  'users.read': ['admin'],
  'users.write': ['admin'],
  'users.access-review': ['admin', 'qa'],
  'audit.read': ['admin', 'qa'],
  'audit.acknowledge': ['qa'],
  'security-events.read': ['admin', 'qa'],
  'signatures.read': ['admin', 'planner', 'operator', 'qa'],
  'master-data.read': ['admin', 'planner', 'operator', 'qa'],
  'master-data.write': ['admin'],
  'recipes.read': ['admin', 'planner', 'operator', 'qa'],
  'recipes.author': ['planner', 'qa'],
  'recipes.review': ['qa'],
  'recipes.release': ['qa'],
  'lots.read': ['admin', 'planner', 'operator', 'qa'],
  'lots.receive': ['planner', 'operator'],
  'lots.disposition': ['qa'],
  'lots.adjust': ['planner', 'qa'],
  'equipment.read': ['admin', 'planner', 'operator', 'qa'],
  'equipment.configure': ['admin'],
  'equipment.status': ['operator', 'qa'],
  'scales.calibrate': ['qa'],
  'scales.check': ['operator', 'qa'],
  'scales.operate': ['operator', 'qa'],
  'oee.read': ['admin', 'planner', 'operator', 'qa'],
  'oee.qualify': ['operator', 'qa'],
  'batches.read': ['admin', 'planner', 'operator', 'qa'],
  'batches.launch': ['planner'],
  'batches.execute': ['operator', 'qa'],
  'batches.command': ['operator', 'qa'],
  'batches.disposition': ['qa'],
  'batches.history': ['admin', 'qa'],
  'batches.investigate': ['qa'],
  'deviations.read': ['admin', 'planner', 'operator', 'qa'],
  'orders.read': ['admin', 'planner', 'operator', 'qa'],
  'orders.plan': ['planner'],
  'webhooks.manage': ['admin'],
  'deviations.raise': ['operator', 'qa'],
  'deviations.investigate': ['qa'],
  'deviations.approve': ['qa'],
};

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

test('the declared routes are exactly the table above', () => {
  const declared = Object.fromEntries(api.routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.access]));
  expect(declared).toEqual(ROUTES);
  expect(PERMISSIONS).toEqual(MATRIX);
});

function allowed(access: Access, role: Role | 'anonymous'): boolean {
  if (access === 'public') return true;
  if (role === 'anonymous') return false;
  return access === 'authenticated' || MATRIX[access].includes(role);
}

test.each(['anonymous', ...ROLES] as const)(
  'as %s, every route answers by the matrix: 401 without a session, 403 without the permission',
  async (role) => {
    const name = uname(role);
    let token: string | undefined;
    if (role !== 'anonymous') {
      await api.createUser(name, [role]);
      token = await api.login(name);
    }
    for (const spec of api.routes) {
      const path = spec.path
        .replace(':id', '00000000-0000-4000-8000-000000000000')
        .replace(':slug', 'not-found')
        .replace(':code', 'NOPE')
        .replace(':stepId', 'step')
        .replace(':v', '1')
        .replace(':w', '2');
      // Logging out ends the session: give it one of its own.
      const useToken = spec.path === '/auth/logout' && token ? await api.login(name) : token;
      const r = await api.request(spec.method.toUpperCase(), path, spec.method === 'get' ? undefined : {}, {
        token: useToken,
      });
      const label = `${role}: ${spec.method.toUpperCase()} ${spec.path} → ${r.status}`;
      if (allowed(spec.access, role))
        expect({ label, denied: [401, 403].includes(r.status) }).toEqual({ label, denied: false });
      else expect({ label, status: r.status }).toEqual({ label, status: role === 'anonymous' ? 401 : 403 });
    }
  },
);
