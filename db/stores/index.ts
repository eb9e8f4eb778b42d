/** Every store, created once per process: they hold no state of their own. */
import { AuditStore } from './audit-store';
import { BatchStore } from './batch-store';
import { DeviationStore } from './deviation-store';
import { EquipmentStore } from './equipment-store';
import { HistoryStore } from './history-store';
import { IdempotencyStore } from './idempotency-store';
import { LotStore } from './lot-store';
import { MasterDataStore } from './master-data-store';
import { OeeStore } from './oee-store';
import { OrderStore } from './order-store';
import { OutboxStore } from './outbox-store';
import { RecipeStore } from './recipe-store';
import { ScaleStore } from './scale-store';
import { SecurityEventStore } from './security-event-store';
import { SessionStore } from './session-store';
import { SignatureStore } from './signature-store';
import { UserStore } from './user-store';

export interface Stores {
  audit: AuditStore;
  users: UserStore;
  sessions: SessionStore;
  signatures: SignatureStore;
  securityEvents: SecurityEventStore;
  idempotency: IdempotencyStore;
  masterData: MasterDataStore;
  recipes: RecipeStore;
  lots: LotStore;
  equipment: EquipmentStore;
  batches: BatchStore;
  histories: HistoryStore;
  deviations: DeviationStore;
  oee: OeeStore;
  orders: OrderStore;
  outbox: OutboxStore;
  scales: ScaleStore;
}

export function createStores(): Stores {
  return {
    audit: new AuditStore(),
    users: new UserStore(),
    sessions: new SessionStore(),
    signatures: new SignatureStore(),
    securityEvents: new SecurityEventStore(),
    idempotency: new IdempotencyStore(),
    masterData: new MasterDataStore(),
    recipes: new RecipeStore(),
    lots: new LotStore(),
    equipment: new EquipmentStore(),
    batches: new BatchStore(),
    histories: new HistoryStore(),
    deviations: new DeviationStore(),
    oee: new OeeStore(),
    orders: new OrderStore(),
    outbox: new OutboxStore(),
    scales: new ScaleStore(),
  };
}
