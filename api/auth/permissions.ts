/**
 * Roles and what they may do. Deny by default: a route declares one permission, and only the roles
 * listed here hold it. The route × role matrix test (`test/api/authorization.test.ts`) pins this table.
 */

import type { Role } from '../../domain/identity';

export { ROLES, type Role } from '../../domain/identity';

export const PERMISSIONS = {
  'users.read': ['admin'],
  'users.write': ['admin'],
  /** Export the access review: every user, their roles, status and last login. */
  'users.access-review': ['admin', 'qa'],
  'audit.read': ['admin', 'qa'],
  /** Acknowledge, signed, a change the database traced as made outside Ampoule. */
  'audit.acknowledge': ['qa'],
  'security-events.read': ['admin', 'qa'],
  'signatures.read': ['admin', 'planner', 'operator', 'qa'],
  'master-data.read': ['admin', 'planner', 'operator', 'qa'],
  'master-data.write': ['admin'],
  'recipes.read': ['admin', 'planner', 'operator', 'qa'],
  /** Create, edit, import and submit recipe versions. */
  'recipes.author': ['planner', 'qa'],
  /** Approve or reject a version in review. */
  'recipes.review': ['qa'],
  /** Make an approved version effective, or retire a version. */
  'recipes.release': ['qa'],
  'lots.read': ['admin', 'planner', 'operator', 'qa'],
  /** Receive material into Quarantine. */
  'lots.receive': ['planner', 'operator'],
  /** Release, reject, quarantine or expire a lot. */
  'lots.disposition': ['qa'],
  /** Correct a lot's quantity, with a reason. */
  'lots.adjust': ['planner', 'qa'],
  'equipment.read': ['admin', 'planner', 'operator', 'qa'],
  /** Register units and change their endpoint, security and binding. */
  'equipment.configure': ['admin'],
  /** Set a unit's status (maintenance) and cleanliness. */
  'equipment.status': ['operator', 'qa'],
  /** Record a scale's calibration (signed). */
  'scales.calibrate': ['qa'],
  /** Check a scale's test weights, the daily check (signed). */
  'scales.check': ['operator', 'qa'],
  /** Tare and zero a scale's terminal. */
  'scales.operate': ['operator', 'qa'],
  /** OEE of the units: time, losses and quality. */
  'oee.read': ['admin', 'planner', 'operator', 'qa'],
  /** Give a unit's stop its reason (a loss). */
  'oee.qualify': ['operator', 'qa'],
  'batches.read': ['admin', 'planner', 'operator', 'qa'],
  /** Launch batches from effective recipes. */
  'batches.launch': ['planner'],
  /** Complete and verify operator steps. */
  'batches.execute': ['operator', 'qa'],
  /** Hold, restart, stop or abort a batch. */
  'batches.command': ['operator', 'qa'],
  /** Review, release or reject a batch. */
  'batches.disposition': ['qa'],
  /** Export a batch's workflow history. */
  'batches.history': ['admin', 'qa'],
  /** Replay a batch's history and cross-check its record against it (an investigation, audited). */
  'batches.investigate': ['qa'],
  'deviations.read': ['admin', 'planner', 'operator', 'qa'],
  /** Raise a deviation the record cannot see (an observation on the floor). */
  'deviations.raise': ['operator', 'qa'],
  /** Take a deviation up, set its severity and findings, submit it for approval. */
  'deviations.investigate': ['qa'],
  /** Return a deviation to its investigator, or close it (signed). */
  'deviations.approve': ['qa'],
  'orders.read': ['admin', 'planner', 'operator', 'qa'],
  /** Create production orders, release them to the floor, cancel or close them. */
  'orders.plan': ['planner'],
  /** Subscribe endpoints to Ampoule's events, read their delivery logs, send dead deliveries again. */
  'webhooks.manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/**
 * Who may call a route: `public` (anyone: health, login, the API's documentation), `authenticated` (any
 * logged-in user, for their own session and profile), or a permission.
 */
export type Access = 'public' | 'authenticated' | Permission;

export function rolesGrant(roles: readonly string[], permission: Permission): boolean {
  const allowed: readonly Role[] = PERMISSIONS[permission];
  return roles.some((r) => allowed.includes(r as Role));
}
