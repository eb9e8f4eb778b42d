/** The API's services, wired once per process from the database, the stores and the configuration. */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import packageJson from '../package.json';
import type { AppConfig } from '../config/app-config';
import type { Database } from '../db/database';
import { createStores, type Stores } from '../db/stores';
import { Anchors } from './audit/anchors';
import { AuditSealer } from './audit/audit-sealer';
import { OutsideChanges } from './audit/outside-changes';
import { AuditTrail } from '../db/audit-trail';
import { Authenticator } from './auth/authenticator';
import { SessionService } from './auth/session-service';
import { SecurityEventLog } from './security/security-event-log';
import { createBatchFeature, type BatchFeature } from './batches/feature';
import type { TemporalAccess } from './batches/temporal-gateway';
import { EquipmentService } from './equipment/equipment-service';
import { LotService } from './lots/lot-service';
import { MasterDataService } from './master-data/master-data-service';
import { RecipeService } from './recipes/recipe-service';
import { SignatureService } from './signatures/signature-service';
import { UserService } from './users/user-service';

export interface Services {
  config: AppConfig;
  database: Database;
  db: Knex;
  log: Logger;
  version: string;
  stores: Stores;
  audit: AuditTrail;
  auditSealer: AuditSealer;
  anchors: Anchors;
  outsideChanges: OutsideChanges;
  authenticator: Authenticator;
  securityEvents: SecurityEventLog;
  sessions: SessionService;
  signatures: SignatureService;
  users: UserService;
  masterData: MasterDataService;
  recipes: RecipeService;
  lots: LotService;
  equipment: EquipmentService;
  batches: BatchFeature;
}

/** `temporal` connects the batch endpoints to Temporal; without it they answer 503. */
export function createServices(database: Database, config: AppConfig, log: Logger, temporal?: TemporalAccess): Services {
  const db = database.knex;
  const stores = createStores();
  const securityEvents = new SecurityEventLog(db, stores.securityEvents, log);
  const authenticator = new Authenticator(db, stores, config.lockout, securityEvents);
  const signatures = new SignatureService(stores, authenticator, securityEvents);
  const masterData = new MasterDataService(db, stores);
  const recipes = new RecipeService(db, stores, masterData, signatures);
  const anchors = new Anchors(db, stores.audit, config.anchors, log);
  return {
    config,
    database,
    db,
    log,
    version: packageJson.version,
    stores,
    audit: new AuditTrail(stores.audit),
    auditSealer: new AuditSealer(db, stores.audit, log),
    anchors,
    outsideChanges: new OutsideChanges(stores, signatures),
    authenticator,
    securityEvents,
    sessions: new SessionService(db, stores, authenticator, config.session),
    signatures,
    users: new UserService(db, stores, authenticator),
    masterData,
    recipes,
    lots: new LotService(db, stores, signatures),
    equipment: new EquipmentService(db, stores, config.opcua.allowSecurityNone),
    batches: createBatchFeature({ db, stores, recipes, signatures, anchors, temporal }),
  };
}
