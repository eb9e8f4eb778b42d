/** The workflows Ampoule's worker runs. */
export { batchWorkflow } from './batch/workflow';
