/**
 * embedded-temporal: a single-process server that speaks Temporal's gRPC WorkflowService, for tests and
 * for Ampoule's zero-setup mode. It imports nothing else of Ampoule.
 */
export { startEmbeddedTemporal, type EmbeddedTemporal, type EmbeddedTemporalOptions } from './server';
export { parseArgs, main } from './cli';
export type { SearchAttributeType } from './engine/search-attributes';
