/** Every migration, oldest first. Append only: a migration that has run anywhere is never edited. */
import * as identitySignaturesAudit from './20261126230000_identity_signatures_audit';
import * as masterDataAndRecipes from './20261127000000_master_data_and_recipes';
import * as lotsAndGenealogy from './20261127010000_lots_and_genealogy';
import * as equipment from './20261127020000_equipment';
import * as batchesAndEbr from './20261127030000_batches_and_ebr';
import * as gaplessBatchNumbers from './20261206000000_gapless_batch_numbers';
import * as unitsHeldByBatch from './20261206003000_units_held_by_batch';
import * as loginEventsIndex from './20261206004000_login_events_index';
import * as rowVersions from './20261206010000_row_versions';
import * as changesOutsideAmpoule from './20261206020000_changes_outside_ampoule';
import * as batchHistories from './20261207000000_batch_histories';
import * as ebrEntriesByUser from './20261207010000_ebr_entries_by_user';
import * as deviations from './20261208000000_deviations';
import * as deviationGuard from './20261208010000_deviation_guard';
import * as oeeStopReasons from './20261209000000_oee_stop_reasons';
import * as applicationRolePerDatabase from './20261210000000_application_role_per_database';
import * as rateLimitCounters from './20261211000000_rate_limit_counters';
import * as productionOrders from './20261212000000_production_orders';
import * as outboxAndWebhooks from './20261213000000_outbox_and_webhooks';
import * as scales from './20261214000000_scales';

export const MIGRATIONS = [
  identitySignaturesAudit,
  masterDataAndRecipes,
  lotsAndGenealogy,
  equipment,
  batchesAndEbr,
  gaplessBatchNumbers,
  unitsHeldByBatch,
  loginEventsIndex,
  rowVersions,
  changesOutsideAmpoule,
  batchHistories,
  ebrEntriesByUser,
  deviations,
  deviationGuard,
  oeeStopReasons,
  applicationRolePerDatabase,
  rateLimitCounters,
  productionOrders,
  outboxAndWebhooks,
  scales,
];
