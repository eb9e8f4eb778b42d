/**
 * The demo users of the zero-setup mode, one per role (two operators and two QA people, so that
 * second-person verification and segregation of duties can be tried). Marked `demo`: a production start
 * refuses to run while any of them is active.
 */
import type { Role } from '../../domain/identity';
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import type { Services } from '../services';

export const DEMO_USERS: { username: string; fullName: string; roles: Role[] }[] = [
  { username: 'admin', fullName: 'Ada Admin (demo)', roles: ['admin'] },
  { username: 'planner', fullName: 'Paul Planner (demo)', roles: ['planner'] },
  { username: 'operator1', fullName: 'Olivia Operator (demo)', roles: ['operator'] },
  { username: 'operator2', fullName: 'Oscar Operator (demo)', roles: ['operator'] },
  { username: 'qa1', fullName: 'Quinn Quality (demo)', roles: ['qa'] },
  { username: 'qa2', fullName: 'Quentin Quality (demo)', roles: ['qa'] },
];

/** Creates the demo users that do not exist yet; returns the usernames it created. */
export async function ensureDemoUsers(s: Services, password: string): Promise<string[]> {
  const created: string[] = [];
  for (const u of DEMO_USERS) {
    if (await s.stores.users.byUsername(s.db, u.username)) continue;
    await s.db.transaction(async (trx) => {
      await s.users.create(
        { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'demo data of the zero-setup mode' },
        { ...u, password, demo: true },
      );
    });
    created.push(u.username);
  }
  return created;
}
