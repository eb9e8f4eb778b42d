/**
 * The batches feature, put together: launching, executing (operators' entries, commands, the work queue, the
 * live state), the record and its review, QA's disposition, the archived histories and investigations — each a
 * service of its own, for its own reason to change — and the Temporal gateway they share, the feature's one way to
 * the batch workflows.
 */
import type { Metrics } from '../../composition/metrics';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Stores } from '../../db/stores';
import type { Anchors } from '../audit/anchors';
import type { OrderService } from '../orders/order-service';
import type { RecipeService } from '../recipes/recipe-service';
import type { SignatureService } from '../signatures/signature-service';
import { BatchReplayer } from '../../worker/replayer';
import type { ScaleService } from '../scales/scale-service';
import { DispensingService } from './dispensing-service';
import { DispositionService } from './disposition-service';
import { ExecutionService } from './execution-service';
import { HistoryArchive } from './history-archive';
import { ImpactService } from './impact-service';
import { InvestigationService } from './investigation-service';
import { LaunchService } from './launch-service';
import { BatchRecordService } from './record-service';
import { BatchTemporalGateway, type TemporalAccess } from './temporal-gateway';

export interface BatchFeature {
  launch: LaunchService;
  execution: ExecutionService;
  records: BatchRecordService;
  disposition: DispositionService;
  /** Each batch's workflow history, archived with its record once the workflow closes. */
  histories: HistoryArchive;
  investigations: InvestigationService;
  /** The other batches an investigation extends to. */
  impact: ImpactService;
  /** Weighed material steps: the scale held for each, and the weight taken from it. */
  dispensing: DispensingService;
  /** Temporal as this process reaches it (readiness asks it). */
  temporal: BatchTemporalGateway;
}

export function createBatchFeature(d: {
  db: Knex;
  stores: Stores;
  recipes: RecipeService;
  orders: OrderService;
  signatures: SignatureService;
  scales: ScaleService;
  anchors: Anchors;
  temporal: TemporalAccess | undefined;
  log?: Logger;
  metrics?: Metrics;
}): BatchFeature {
  const temporal = new BatchTemporalGateway(d.temporal);
  const records = new BatchRecordService(d.db, d.stores, d.anchors);
  const histories = new HistoryArchive(d.db, d.stores, temporal, d.log);
  const dispensing = new DispensingService(d.db, d.stores, d.scales);
  return {
    dispensing,
    histories,
    impact: new ImpactService(d.db, d.stores),
    investigations: new InvestigationService(d.db, d.stores, histories, new BatchReplayer(d.temporal?.workflowBundle)),
    launch: new LaunchService(d.stores, d.recipes, d.orders, temporal),
    execution: new ExecutionService(d.db, d.stores, records, d.signatures, temporal, dispensing, d.metrics),
    records,
    disposition: new DispositionService(d.stores, d.signatures),
    temporal,
  };
}
