/** The API's services, wired once per process on the platform (database, stores, audit sealer) and the configuration. */
import packageJson from '../package.json';
import type { Platform } from '../composition/platform';
import { Anchors } from './audit/anchors';
import { OutsideChanges } from './audit/outside-changes';
import { AuditTrail } from './audit/audit-trail';
import { Authenticator } from './auth/authenticator';
import { SessionService } from './auth/session-service';
import { SecurityEventLog } from './security/security-event-log';
import { createBatchFeature, type BatchFeature } from './batches/feature';
import type { TemporalAccess } from './batches/temporal-gateway';
import { DeviationService } from './deviations/deviation-service';
import { OrderService } from './orders/order-service';
import { WebhookRelay } from './integration/webhook-relay';
import { WebhookService } from './integration/webhook-service';
import { EquipmentService } from './equipment/equipment-service';
import { LotService } from './lots/lot-service';
import { MasterDataService } from './master-data/master-data-service';
import { OeeService } from './oee/oee-service';
import { RecipeService } from './recipes/recipe-service';
import type { ScaleTerminal } from '../equipment/driver/scale-terminal';
import { ScaleService } from './scales/scale-service';
import { SignatureService } from './signatures/signature-service';
import { UserService } from './users/user-service';

export interface Services extends Platform {
  version: string;
  audit: AuditTrail;
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
  deviations: DeviationService;
  orders: OrderService;
  webhooks: WebhookService;
  /** Delivers the outbox's events to the subscriptions (started by the API's process). */
  webhookRelay: WebhookRelay;
  oee: OeeService;
  scales: ScaleService;
}

/**
 * `temporal` connects the batch endpoints to Temporal; without it they answer 503. `equipment` is this process's
 * way to the scales' terminals (OPC UA); without it their reads answer 503 too.
 */
export function createServices(
  platform: Platform,
  temporal?: TemporalAccess,
  equipment?: { scaleTerminal: ScaleTerminal },
): Services {
  const { db, stores, config, log } = platform;
  const securityEvents = new SecurityEventLog(db, stores.securityEvents, log);
  const authenticator = new Authenticator(db, stores, config.lockout, securityEvents);
  const signatures = new SignatureService(stores, authenticator, securityEvents, platform.metrics);
  const masterData = new MasterDataService(db, stores);
  const recipes = new RecipeService(db, stores, masterData, signatures);
  const anchors = new Anchors(db, stores.audit, config.anchors, log);
  const orders = new OrderService(db, stores);
  const scales = new ScaleService(db, stores, signatures, equipment?.scaleTerminal);
  const batches = createBatchFeature({
    scales,
    db,
    stores,
    recipes,
    orders,
    signatures,
    anchors,
    temporal,
    log,
    metrics: platform.metrics,
  });
  return {
    ...platform,
    version: packageJson.version,
    audit: new AuditTrail(stores.audit),
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
    batches,
    deviations: new DeviationService(db, stores, signatures, batches.histories),
    oee: new OeeService(db, stores, config.oee),
    orders,
    webhooks: new WebhookService(db, stores),
    webhookRelay: new WebhookRelay(db, stores, log.child({ component: 'webhooks' })),
    scales,
  };
}
