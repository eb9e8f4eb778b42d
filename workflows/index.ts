/** The workflows Ampoule's worker runs. */
export { batchWorkflow, batchCommandUpdate, batchStateQuery, completeStepUpdate, verifyStepUpdate, type BatchResult } from './batch';
